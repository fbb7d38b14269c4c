/** Write the chart file: temp file in the same folder, then rename, so a viewer never sees half a file. */
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Report } from './compute.ts'
import { renderHtml } from './html.ts'
import { renderSvg } from './svg.ts'

export async function writeReportFile(path: string, format: 'svg' | 'html', report: Report, source: string): Promise<void> {
  const body = format === 'svg' ? renderSvg(report, source, { standalone: true }) : renderHtml(report, source)
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  try {
    await writeFile(tmp, body, 'utf8')
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}
