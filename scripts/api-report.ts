/**
 * The core's public API report, made by API Extractor from the built declarations (dist/bkt/index.d.ts) into
 * etc/bkt-engine.api.md. `npm run api:report` rewrites the report after a deliberate change; `checkApiReport()` (run
 * by test/api-report.test.ts in `npm test`) fails when the built API differs from the committed report.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The outcome of one API Extractor run. */
export interface ApiReportResult {
  readonly succeeded: boolean;
  readonly apiReportChanged: boolean;
  readonly problems: readonly string[];
}

/** Runs API Extractor; `update` writes the report, otherwise a differing report is a failure. */
export function runApiExtractor(update: boolean): ApiReportResult {
  const config = ExtractorConfig.loadFileAndPrepare(join(root, 'api-extractor.json'));
  const problems: string[] = [];
  const result = Extractor.invoke(config, {
    localBuild: update,
    showVerboseMessages: false,
    messageCallback: (message) => {
      // Members without their own comment are allowed (the type's comment covers them); top-level exports are
      // checked by test/api-report.test.ts through the compiler, which also sees constants.
      if (message.messageId === 'ae-undocumented') {
        message.logLevel = ExtractorLogLevel.None;
      } else if (message.logLevel === ExtractorLogLevel.Warning || message.logLevel === ExtractorLogLevel.Error) {
        problems.push(message.formatMessageWithLocation(root));
      }
      message.handled = true;
    },
  });
  return { succeeded: result.succeeded, apiReportChanged: result.apiReportChanged, problems };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = runApiExtractor(true);
  for (const p of result.problems) console.log(p);
  console.log(result.apiReportChanged ? 'etc/bkt-engine.api.md updated: review and commit it' : 'etc/bkt-engine.api.md unchanged');
}
