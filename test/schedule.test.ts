import { describe, expect, test, afterAll } from 'bun:test'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { runSchedule } from '../src/schedule/index.ts'
import { cronBlock, cronLine, mergeBlock, BEGIN, END } from '../src/schedule/cron.ts'
import { jobs, parseEvery, parseTimeOfDay, selfProgram, type ScheduleSpec } from '../src/schedule/spec.ts'
import { units } from '../src/schedule/systemd.ts'
import { encodeTaskXml, planWindows, taskXml, winQuote } from '../src/schedule/windows.ts'
import type { Runner } from '../src/schedule/runner.ts'
import { runMain as run } from './_run.ts'

const tmp = mkdtempSync(join(tmpdir(), 'prescient-schedule-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))


/** CommandLineToArgvW's rules, to read the task's Arguments back the way Windows will. */
function parseWinArgs(line: string): string[] {
  const out: string[] = []
  let i = 0
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++
    if (i >= line.length) break
    let arg = ''
    let quoted = false
    for (; i < line.length; i++) {
      const c = line[i]!
      if (c === '\\') {
        let n = 0
        while (line[i] === '\\') n++, i++
        if (line[i] === '"') {
          arg += '\\'.repeat(n >> 1)
          if (n % 2) arg += '"'
          else quoted = !quoted
        } else {
          arg += '\\'.repeat(n)
          i--
        }
      } else if (c === '"') quoted = !quoted
      else if (!quoted && (c === ' ' || c === '\t')) break
      else arg += c
    }
    out.push(arg)
  }
  return out
}

const DIR = 'C:\\Users\\Ann Lee\\R&D <prescient>'
function winSpec(over: Partial<ScheduleSpec> = {}): ScheduleSpec {
  return {
    platform: 'windows',
    every: parseEvery('15m'),
    backupAt: parseTimeOfDay('02:30'),
    program: { program: 'C:\\Program Files\\Tom & Jerry\\prescient.exe', prefix: [], compiled: true },
    cwd: DIR,
    envFile: `${DIR}\\.env`,
    logDir: `${DIR}\\data\\logs`,
    phase: 3,
    ...over,
  }
}
const WIN = { systemRoot: 'C:\\Windows', user: 'PC\\ann', now: new Date(2025, 5, 1, 13, 7) }

function decode(buf: Buffer) {
  expect([buf[0], buf[1]]).toEqual([0xff, 0xfe])
  const text = new TextDecoder('utf-16le').decode(buf.subarray(2))
  expect(XMLValidator.validate(text)).toBe(true)
  return { text, doc: new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(text) }
}

describe('Windows Task Scheduler XML', () => {
  const plan = planWindows(winSpec(), WIN)
  const cycle = decode(plan.files[0]!.content)
  const backup = decode(plan.files[1]!.content)

  test('UTF-16LE with a BOM, declared UTF-16, schema 1.2', () => {
    expect(cycle.text.startsWith('<?xml version="1.0" encoding="UTF-16"?>')).toBe(true)
    expect(cycle.doc.Task['@_version']).toBe('1.2')
    expect(cycle.doc.Task['@_xmlns']).toBe('http://schemas.microsoft.com/windows/2004/02/mit/task')
    expect(plan.files.map((f) => f.name)).toEqual(['prescient-cycle.xml', 'prescient-backup.xml'])
  })

  test('cycle: every 15 minutes, ignore-new, 10 minute limit, hidden, starts when available', () => {
    const t = cycle.doc.Task
    expect(t.Triggers.TimeTrigger.StartBoundary).toBe('2025-06-01T00:00:00')
    expect(t.Triggers.TimeTrigger.Repetition.Interval).toBe('PT15M')
    expect(t.Settings.MultipleInstancesPolicy).toBe('IgnoreNew')
    expect(t.Settings.ExecutionTimeLimit).toBe('PT10M')
    expect(t.Settings.Hidden).toBe('true')
    expect(t.Settings.StartWhenAvailable).toBe('true')
    expect(t.Settings.DisallowStartIfOnBatteries).toBe('false')
    expect(t.Principals.Principal.UserId).toBe('PC\\ann')
    expect(t.Principals.Principal.LogonType).toBe('InteractiveToken')
    expect(t.RegistrationInfo.URI).toBe('\\Prescient\\Cycle')
  })

  test('cycle: conhost --headless runs prescient with the install folder, .env and phase; & and spaces survive', () => {
    const exec = cycle.doc.Task.Actions.Exec
    expect(exec.Command).toBe('C:\\Windows\\System32\\conhost.exe')
    expect(exec.WorkingDirectory).toBe(DIR)
    expect(parseWinArgs(exec.Arguments)).toEqual(['--headless', 'C:\\Program Files\\Tom & Jerry\\prescient.exe', 'cycle', '--phase', '3', '--env-file', `${DIR}\\.env`, '--log-file'])
    expect(cycle.text).toContain('R&amp;D &lt;prescient&gt;')
    expect(cycle.text).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;)/)
  })

  test('backup: daily dump --prune at the given time, one hour limit', () => {
    const t = backup.doc.Task
    expect(t.Triggers.CalendarTrigger.StartBoundary).toBe('2025-06-01T02:30:00')
    expect(t.Triggers.CalendarTrigger.ScheduleByDay.DaysInterval).toBe('1')
    expect(t.Settings.ExecutionTimeLimit).toBe('PT1H')
    expect(t.Settings.MultipleInstancesPolicy).toBe('IgnoreNew')
    expect(parseWinArgs(t.Actions.Exec.Arguments).slice(2)).toEqual(['dump', '--prune', '--env-file', `${DIR}\\.env`, '--log-file'])
  })

  test('hours, no --phase, and bun + src/cli.ts from a checkout', () => {
    const spec = winSpec({ every: parseEvery('2h'), phase: undefined, program: { program: 'C:\\dev\\node_modules\\bun\\bin\\bun.exe', prefix: ['C:\\dev\\my app\\src\\cli.ts'], compiled: false } })
    const { doc } = decode(encodeTaskXml(taskXml(spec, jobs(spec)[0]!, WIN)))
    expect(doc.Task.Triggers.TimeTrigger.Repetition.Interval).toBe('PT2H')
    expect(parseWinArgs(doc.Task.Actions.Exec.Arguments)).toEqual(['--headless', 'C:\\dev\\node_modules\\bun\\bin\\bun.exe', 'C:\\dev\\my app\\src\\cli.ts', 'cycle', '--env-file', `${DIR}\\.env`, '--log-file'])
  })

  test('winQuote round-trips awkward arguments', () => {
    for (const a of ['plain', 'with space', 'C:\\dir with space\\', 'say "hi"', 'trail\\\\', '', 'a\\"b'])
      expect(parseWinArgs(`x ${winQuote(a)} y`)).toEqual(['x', a, 'y'])
  })
})

describe('schtasks through an injected runner', () => {
  function fakeSchtasks(existing: Set<string>) {
    const calls: string[][] = []
    const runner: Runner = async (cmd, args) => {
      calls.push([cmd, ...args])
      const tn = args[args.indexOf('/TN') + 1]!
      if (args[0] === '/Query') return { code: existing.has(tn) ? 0 : 1, stdout: '', stderr: existing.has(tn) ? '' : 'ERROR: The system cannot find the file specified.' }
      if (args[0] === '/Create') {
        const file = args[args.indexOf('/XML') + 1]!
        decode(readFileSync(file)) // the file exists, is UTF-16LE and parses while schtasks reads it
        existing.add(tn)
      }
      if (args[0] === '/Delete') existing.delete(tn)
      return { code: 0, stdout: 'SUCCESS', stderr: '' }
    }
    return { runner, calls }
  }

  test('install creates both tasks without /F, after checking they are absent', async () => {
    const { runner, calls } = fakeSchtasks(new Set())
    const r = await runSchedule('install', winSpec(), { runner, yes: false, unitDir: '', windows: WIN })
    const creates = calls.filter((c) => c[1] === '/Create')
    expect(creates.map((c) => [c[0], c[1], c[2], c[4], c[5], c.length])).toEqual([
      ['schtasks', '/Create', '/XML', '/TN', 'Prescient\\Cycle', 6],
      ['schtasks', '/Create', '/XML', '/TN', 'Prescient\\Backup', 6],
    ])
    expect(creates[0]![3]).toEndWith('prescient-cycle.xml')
    expect(existsSync(creates[0]![3]!)).toBe(false) // the temporary XML is cleaned up
    expect(r.ran).toBe(true)
  })

  test('an existing task is replaced only with --yes (/F)', async () => {
    const existing = new Set(['Prescient\\Cycle'])
    const a = fakeSchtasks(existing)
    await expect(runSchedule('install', winSpec(), { runner: a.runner, yes: false, unitDir: '', windows: WIN })).rejects.toMatchObject({ exitCode: 2 })
    expect(a.calls.some((c) => c[1] === '/Create')).toBe(false)
    const b = fakeSchtasks(existing)
    await runSchedule('install', winSpec(), { runner: b.runner, yes: true, unitDir: '', windows: WIN })
    expect(b.calls.filter((c) => c[1] === '/Create').every((c) => c.at(-1) === '/F')).toBe(true)
  })

  test('remove deletes with /Delete /TN ... /F and skips what is not there', async () => {
    const { runner, calls } = fakeSchtasks(new Set(['Prescient\\Backup']))
    const r = await runSchedule('remove', winSpec(), { runner, yes: true, unitDir: '', windows: WIN })
    expect(calls.filter((c) => c[1] === '/Delete')).toEqual([['schtasks', '/Delete', '/TN', 'Prescient\\Backup', '/F']])
    expect(r.outcome).toBe('removed')
  })
})

describe('cron', () => {
  function posixSpec(dir: string, over: Partial<ScheduleSpec> = {}): ScheduleSpec {
    return { ...winSpec(), platform: 'cron', cwd: dir, envFile: join(dir, '.env'), logDir: join(dir, 'logs'), program: { program: join(dir, 'args.sh'), prefix: [], compiled: true }, ...over }
  }

  test('the line survives sh: every path with spaces, quotes, % and & reaches the program intact', () => {
    const dir = join(tmp, "it's 50% R&D $HOME")
    mkdirSync(join(dir, 'logs'), { recursive: true })
    writeFileSync(join(dir, 'args.sh'), '#!/bin/sh\nprintf \'%s\\n\' "$PWD" "$@"\n')
    chmodSync(join(dir, 'args.sh'), 0o755)
    const spec = posixSpec(dir)
    const line = cronLine(spec, jobs(spec)[0]!)
    expect(line.startsWith('*/15 * * * * ')).toBe(true)
    expect(line).not.toMatch(/(?<!\\)%/) // cron would turn a bare % into a newline
    const command = line.split(' ').slice(5).join(' ').replace(/\\%/g, '%') // what cron hands to sh
    expect(spawnSync('/bin/sh', ['-c', command]).status).toBe(0)
    const lines = readFileSync(join(dir, 'logs', 'cron.log'), 'utf8').trimEnd().split('\n')
    expect(lines).toEqual([dir, 'cycle', '--phase', '3', '--env-file', join(dir, '.env')])
    expect(cronLine(spec, jobs(spec)[1]!)).toStartWith('30 2 * * * ')
    expect(cronLine({ ...spec, every: parseEvery('1h') }, jobs(spec)[0]!)).toStartWith('0 * * * * ')
    expect(cronLine({ ...spec, every: parseEvery('6h') }, jobs(spec)[0]!)).toStartWith('0 */6 * * * ')
  })

  function fakeCrontab(initial: string | null) {
    const state = { tab: initial, writes: [] as string[] }
    const runner: Runner = async (cmd, args, opts) => {
      expect(cmd).toBe('crontab')
      if (args[0] === '-l') return state.tab === null ? { code: 1, stdout: '', stderr: 'no crontab for ann' } : { code: 0, stdout: state.tab, stderr: '' }
      state.tab = opts!.input!
      state.writes.push(opts!.input!)
      return { code: 0, stdout: '', stderr: '' }
    }
    return { state, runner }
  }
  const deps = (runner: Runner, yes = false) => ({ runner, yes, unitDir: '' })
  const count = (s: string, sub: string) => s.split(sub).length - 1

  test('install merges the block idempotently, keeps the user lines, remove deletes only the block', async () => {
    const dir = join(tmp, 'cron-merge')
    const spec = posixSpec(dir)
    const mine = 'MAILTO=ann\n0 5 * * 1 /usr/bin/backup-photos\n'
    const c = fakeCrontab(mine)
    expect((await runSchedule('install', spec, deps(c.runner))).outcome).toBe('installed')
    expect(c.state.tab!.startsWith(mine)).toBe(true)
    expect(count(c.state.tab!, BEGIN)).toBe(1)
    expect(c.state.tab).toContain(cronBlock(spec))

    expect((await runSchedule('install', spec, deps(c.runner))).outcome).toBe('unchanged')
    expect(c.state.writes.length).toBe(1)

    c.state.tab = c.state.tab + '# my trailing note\n'
    const other = { ...spec, every: parseEvery('5m') }
    await expect(runSchedule('install', other, deps(c.runner))).rejects.toMatchObject({ exitCode: 2 })
    expect((await runSchedule('install', other, deps(c.runner, true))).outcome).toBe('replaced')
    expect(count(c.state.tab!, BEGIN)).toBe(1)
    expect(c.state.tab).toContain('*/5 * * * *')
    expect(c.state.tab).toEndWith('# my trailing note\n')

    expect((await runSchedule('remove', spec, deps(c.runner, true))).outcome).toBe('removed')
    expect(c.state.tab).toBe(mine + '# my trailing note\n')
    expect((await runSchedule('remove', spec, deps(c.runner, true))).outcome).toBe('absent')
  })

  test('an empty crontab, duplicates and a damaged block', async () => {
    const dir = join(tmp, 'cron-empty')
    const c = fakeCrontab(null)
    await runSchedule('install', posixSpec(dir), deps(c.runner))
    expect(c.state.tab).toBe(cronBlock(posixSpec(dir)) + '\n')
    const twice = `a\n${BEGIN}\nx\n${END}\nb\n${BEGIN}\ny\n${END}\n`
    expect(mergeBlock(twice, 'NEW')).toBe('a\nNEW\nb\n')
    expect(mergeBlock(twice, null)).toBe('a\nb\n')
    expect(() => mergeBlock(`a\n${BEGIN}\nx\n`, null)).toThrow(/markers/)
  })
})

describe('systemd user units', () => {
  const dir = '/home/ann/50% R&D'
  const spec: ScheduleSpec = { ...winSpec(), platform: 'systemd', cwd: dir, envFile: `${dir}/.env`, logDir: `${dir}/data/logs`, program: { program: '/opt/bun/bin/bun', prefix: [`${dir}/src/cli.ts`], compiled: false } }
  const list = units(spec)
  const unit = (name: string) => list.find((u) => u.name === name)!.content

  test('oneshot services in the install folder, quoted and %-escaped', () => {
    expect(list.map((u) => u.name)).toEqual(['prescient-cycle.service', 'prescient-cycle.timer', 'prescient-backup.service', 'prescient-backup.timer'])
    const s = unit('prescient-cycle.service')
    expect(s).toContain('Type=oneshot')
    expect(s).toContain('WorkingDirectory=/home/ann/50%% R&D\n')
    expect(s).toContain('ExecStart=/opt/bun/bin/bun "/home/ann/50%% R&D/src/cli.ts" cycle --phase 3 --env-file "/home/ann/50%% R&D/.env"\n')
    expect(s).toContain('TimeoutStartSec=10min')
    expect(unit('prescient-backup.service')).toContain(' dump --prune --env-file ')
    expect(unit('prescient-backup.service')).toContain('TimeoutStartSec=60min')
  })

  test('timers on the clock; the backup catches up after downtime', () => {
    expect(unit('prescient-cycle.timer')).toContain('OnCalendar=*-*-* *:00/15:00\n')
    expect(unit('prescient-cycle.timer')).toContain('Persistent=false')
    expect(unit('prescient-backup.timer')).toContain('OnCalendar=*-*-* 02:30:00\n')
    expect(unit('prescient-backup.timer')).toContain('Persistent=true')
    expect(unit('prescient-backup.timer')).toContain('WantedBy=timers.target')
    if (spawnSync('systemd-analyze', ['--version']).status === 0) {
      for (const cal of ['*-*-* *:00/15:00', '*-*-* 00/2:00:00', '*-*-* 02:30:00']) expect(spawnSync('systemd-analyze', ['calendar', cal]).status).toBe(0)
    }
  })

  test('install writes the units and enables the timers; remove undoes it', async () => {
    const unitDir = join(tmp, 'systemd-user')
    const calls: string[][] = []
    const runner: Runner = async (cmd, args) => (calls.push([cmd, ...args]), { code: 0, stdout: '', stderr: '' })
    await runSchedule('install', spec, { runner, yes: false, unitDir })
    expect(readFileSync(join(unitDir, 'prescient-cycle.service'), 'utf8')).toBe(unit('prescient-cycle.service'))
    expect(calls).toEqual([
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', 'prescient-cycle.timer', 'prescient-backup.timer'],
    ])
    await expect(runSchedule('install', { ...spec, every: parseEvery('5m') }, { runner, yes: false, unitDir })).rejects.toMatchObject({ exitCode: 2 })
    calls.length = 0
    await runSchedule('remove', spec, { runner, yes: true, unitDir })
    expect(calls[0]).toEqual(['systemctl', '--user', 'disable', '--now', 'prescient-cycle.timer', 'prescient-backup.timer'])
    expect(existsSync(join(unitDir, 'prescient-cycle.timer'))).toBe(false)
  })
})

describe('the command', () => {
  test('bad --every / --backup-at / --platform exit 2 naming the flag', async () => {
    for (const [flag, value] of [['--every', '7m'], ['--every', 'soon'], ['--every', '90m'], ['--backup-at', '25:00'], ['--backup-at', '2am'], ['--platform', 'launchd']] as const) {
      const r = await run(['schedule', 'print', flag, value])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(flag)
    }
    const r = await run(['schedule', 'reinstall'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('install, remove or print')
  })

  test('print --platform windows writes the XML files and shows the schtasks commands, running nothing', async () => {
    const out = join(tmp, 'print-out')
    const r = await run(['schedule', 'print', '--platform', 'windows', '--out', out, '--every', '5m', '--json'])
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.ran).toBe(false)
    expect(doc.files).toEqual([join(out, 'prescient-cycle.xml'), join(out, 'prescient-backup.xml')])
    expect(doc.commands[0]).toStartWith('schtasks /Create /XML ')
    expect(doc.commands.at(-1)).toBe('schtasks /Delete /TN Prescient\\Backup /F')
    expect(decode(readFileSync(doc.files[0])).doc.Task.Triggers.TimeTrigger.Repetition.Interval).toBe('PT5M')
  })

  test('a missing .env is a warning naming it (the jobs would run on defaults); an existing one is not', async () => {
    const out = join(tmp, 'print-env')
    const missing = join(tmp, 'no-such.env')
    const r = await run(['schedule', 'print', '--platform', 'cron', '--out', out, '--env-file', missing])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(`${missing} does not exist: the jobs will run with the defaults`)
    const present = join(tmp, 'present.env')
    writeFileSync(present, 'PRESCIENT_PHASE=0\n')
    const ok = await run(['schedule', 'print', '--platform', 'cron', '--out', out, '--env-file', present])
    expect(ok.code).toBe(0)
    expect(ok.stderr).not.toContain('does not exist')
  })

  test('the job runs this bun with src/cli.ts from a checkout, the binary itself when compiled', () => {
    const dev = selfProgram()
    expect(dev.compiled).toBe(false)
    expect(dev.program).toBe(process.execPath)
    expect(dev.prefix[0]).toEndWith(join('src', 'cli.ts'))
    expect(existsSync(dev.prefix[0]!)).toBe(true)
    expect(selfProgram('C:\\Tools\\prescient-windows-x64.exe')).toEqual({ program: 'C:\\Tools\\prescient-windows-x64.exe', prefix: [], compiled: true })
    // renamed, but still a compiled binary: its modules live under Bun's virtual /$bunfs/
    expect(selfProgram('/opt/bin/trader', undefined, 'file:///$bunfs/root/src/schedule/spec.ts').compiled).toBe(true)
  })
})
