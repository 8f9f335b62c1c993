/**
 * The drift the monitoring test's scenario shows, as figures: Seattle's daily weather, a reference
 * profile of April–September 2012 against the traffic of November 2012 – February 2013, per feature
 * (KS statistic and p-value, PSI, Wasserstein) with the platform's default drift rule.
 *
 *   node --import tsx bench/drift_seattle.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildReferenceProfile, detectDrift, ProfileColumn } from '../src/ml/reference-profile';

const [, ...lines] = fs.readFileSync(path.join(__dirname, '..', 'datasets', 'seattle-weather.csv'), 'utf8').trim().split('\n');
const rows = lines.map((l) => l.split(','));
const period = (from: string, to: string) => rows.filter((r) => r[0] >= from && r[0] <= to);
const columns = (rs: string[][]): ProfileColumn[] => ['precipitation', 'temp_max', 'temp_min', 'wind']
  .map((name, j) => ({ name, kind: 'numeric' as const, values: Float64Array.from(rs, (r) => Number(r[j + 1])) }));

const summer = period('2012/04/01', '2012/09/30');
const winter = period('2012/11/01', '2013/02/28');
const drift = detectDrift(buildReferenceProfile(columns(summer), { seed: 7 }), columns(winter));
console.log(`reference ${summer.length} days, current ${winter.length} days: dataset drift ${drift.datasetDrift} (${drift.driftedFeatures} of ${drift.features.length} features)`);
console.log('| feature | KS | p-value | PSI | Wasserstein | drifted |\n| --- | ---: | ---: | ---: | ---: | --- |');
for (const f of drift.features) {
  console.log(`| ${f.name} | ${f.statistic.toFixed(3)} | ${f.pvalue.toExponential(2)} | ${f.psi.toFixed(2)} | ${f.wasserstein?.toFixed(2)} | ${f.drifted ? 'yes' : 'no'} |`);
}
