/**
 * The recorded Gamma API responses live outside the repo, in
 * ../shared/fixtures/polymarket. Tests read them there; when the folder is
 * absent (a user's own clone) those tests skip with a notice, except under CI=true.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'

export const REPO = resolve(import.meta.dir, '..')
export const FIXTURES = process.env.PRESCIENT_FIXTURES ?? resolve(REPO, '../shared/fixtures/polymarket')
export const fixturesAvailable = existsSync(FIXTURES)
if (!fixturesAvailable) {
  if (process.env.CI === 'true') throw new Error(`CI=true and the fixtures folder is missing: ${FIXTURES}`)
  console.warn(`[skip] fixtures not found at ${FIXTURES}; fixture tests skip`)
}
export const fixture = (name: string) => resolve(FIXTURES, name)
