/**
 * What `mlops package` downloads to build a bundle: a version's ONNX file and its smoke-test rows, by
 * their registered digests. Only approved versions leave the platform this way: a bundle serves outside
 * the platform's rollouts, so it must hold nothing a reviewer has not approved.
 */
import { DomainError } from '../domain/errors';
import { DEPLOYABLE_STATUS } from '../domain/model-version';
import type { ArtifactStore } from '../store/artifacts';
import type { Repositories } from '../store/repositories';

/** The files a bundle takes from the platform (the signature and lineage come with the version's JSON). */
export const DOWNLOADABLE_BUNDLE_FILES = ['model.onnx', 'smoke-set.json'] as const;
export type DownloadableBundleFile = (typeof DOWNLOADABLE_BUNDLE_FILES)[number];

export async function bundleFile(
  deps: { repos: Pick<Repositories, 'registry'>; artifacts: Pick<ArtifactStore, 'get'> }, model: string, number: number, file: string,
): Promise<{ bytes: Buffer; sha256: string; type: string }> {
  if (!(DOWNLOADABLE_BUNDLE_FILES as readonly string[]).includes(file)) {
    throw new DomainError('not_found', `a bundle has no file "${file.slice(0, 100)}" to download: ${DOWNLOADABLE_BUNDLE_FILES.join(' or ')} (the signature and lineage are in GET /v1/models/{name}/versions/{version})`);
  }
  const version = await deps.repos.registry.getVersion(model, number);
  if (!version) throw new DomainError('not_found', `model "${model}" has no version ${number}`);
  if (version.status !== DEPLOYABLE_STATUS) {
    throw new DomainError('conflict', `version ${number} of "${model}" is ${version.status.replace('_', ' ')}: only approved versions are packaged (a bundle serves outside the platform's approvals and rollouts)`);
  }
  const digest = file === 'model.onnx' ? version.onnxDigest : version.artifacts.smokeSet;
  if (!digest) throw new DomainError('not_found', `version ${number} of "${model}" has no smoke-test rows (registered before they were kept)`);
  // the artifact store checks the bytes against their digest as it reads them
  return { bytes: await deps.artifacts.get(digest), sha256: digest, type: file.endsWith('.json') ? 'application/json' : 'application/octet-stream' };
}
