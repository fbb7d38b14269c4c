import { defineCommand } from 'citty'
import { dataDirArgs, debugArgs, envArgs, jsonArgs, phaseArgs, yesArgs } from './_args.ts'
import { configFrom } from './_config.ts'
import { archiveCandidates, checkArchive, manifestPath, removeOriginals, verifyPrecondition, writeArchive, type VerifyOutcome } from '../src/archive.ts'
import { resolvePath } from '../src/config.ts'
import { Exit, PrescientError, usageError } from '../src/errors.ts'
import { acquireLock, type Lock } from '../src/lock.ts'
import { logger } from '../src/logger.ts'
import { fmtBytes, printJson, printTable } from '../src/output.ts'

let lock: Lock | undefined

export default defineCommand({
  meta: {
    name: 'archive',
    description:
      'Phase 7: pack the JSON files of the data dir (not logs/ or .prescient/) into <out>/prescient-json-<time>.tar.gz with a ' +
      'manifest <archive>.sha256.json (sha256 and size of every file and of the archive). Refuses unless `prescient verify` is ' +
      'clean (exit 3 on differences, 2 without a database) or --force. --remove --yes then deletes the originals, only after ' +
      'reading the archive back and checking every hash, and only in phase 7.',
  },
  args: {
    out: { type: 'string', valueHint: 'DIR', description: 'Where the archive and its manifest go (default ./backups)' },
    force: { type: 'boolean', description: 'Archive even though verify is not clean or cannot run (recorded in the manifest)' },
    remove: { type: 'boolean', description: 'Delete the archived JSON files after checking the archive (phase 7 only; needs --yes)' },
    ...phaseArgs,
    ...dataDirArgs,
    ...yesArgs,
    ...jsonArgs,
    ...envArgs,
    ...debugArgs,
  },
  async run({ args }) {
    lock = undefined
    const config = configFrom(args)
    if (args.remove) {
      // JSON is still the truth, or the emergency fallback, below phase 7: deleting it would lose the portfolio.
      if (config.phase !== 7) throw usageError(`--remove deletes the JSON files, which phase ${config.phase} still uses (from ${config.phaseSource})`, 'archive without --remove, or move to phase 7 first (PRESCIENT_PHASE=7)')
      if (!args.yes) {
        const { askConfirm } = await import('../src/prompts.ts')
        if (!(await askConfirm({ message: 'Delete the JSON files once the archive is checked?', what: '--remove deletes the JSON files' }))) return Exit.usage
      }
    }
    const files = archiveCandidates(config.dataDir)
    if (!files.length) throw usageError(`no JSON files to archive in ${config.dataDir}`, 'pass --data-dir DIR if they live elsewhere')
    lock = acquireLock(config.dataDir, 'archive')

    let outcome: VerifyOutcome
    if (args.force) {
      outcome = { checked: false, reason: '--force' }
      logger.warn('--force: archiving without checking `prescient verify`')
    } else {
      outcome = await verifyPrecondition(config)
      if (outcome.checked && outcome.differences > 0) {
        throw new PrescientError(
          `verify found ${outcome.differences} difference(s) between the JSON files and ${outcome.database}; nothing was archived (--force skips the check)`,
          Exit.differences,
          'see them with `prescient verify`; in phase 7, `prescient sync --from-db --yes` brings the JSON files level first (or pass --force)',
        )
      }
    }

    const outDir = resolvePath(config.cwd, args.out ?? 'backups')
    const { path, manifest } = await writeArchive(config.dataDir, files, { outDir, phase: config.phase, verify: outcome })
    const problems = await checkArchive(path, manifest)
    if (problems.length) throw new PrescientError(`the archive does not read back as written: ${problems.join('; ')}`, Exit.runtime, `${path} is kept for inspection`)
    const removed = args.remove ? await removeOriginals(config.dataDir, path, manifest) : []

    if (args.json) printJson({ path, manifestPath: manifestPath(path), manifest, readBack: 'ok', removed })
    else {
      printTable(['file', 'size', 'sha256'], manifest.files.map((f) => [f.path, fmtBytes(f.size), f.sha256]), { title: `${path} (${fmtBytes(manifest.size)}, sha256 ${manifest.sha256})` })
      logger.success(`archived ${manifest.files.length} file(s); manifest ${manifestPath(path)}; read back and checked`)
      if (removed.length) logger.success(`removed ${removed.length} original(s) from ${config.dataDir}`)
    }
    return Exit.ok
  },
  async cleanup() {
    lock?.release()
  },
})
