/**
 * Downloads for model bundles (`mlops package`, src/bundle/): an approved version's ONNX file and
 * smoke-test rows, as their bytes, with their sha256 in `X-Content-SHA256` so the client can check
 * what arrived against the registry's digests.
 *
 *   GET /v1/models/:name/versions/:version/bundle/:file   scientist   model.onnx | smoke-set.json
 */
import type { ArtifactStore } from '../store/artifacts';
import type { Repositories } from '../store/repositories';
import { bundleFile } from '../usecases/bundles';
import type { SecuredRoutes } from './access';
import { modelName, route, versionNumber } from './http';

export const CONTENT_DIGEST_HEADER = 'X-Content-SHA256';

export function bundleRoutes(router: SecuredRoutes, deps: { repos: Repositories; artifacts: ArtifactStore }): void {
  router.get('/v1/models/:name/versions/:version/bundle/:file', 'scientist', route(async (req, res) => {
    const file = await bundleFile(deps, modelName(req), versionNumber(req), String(req.params.file));
    res.set(CONTENT_DIGEST_HEADER, file.sha256).type(file.type).send(file.bytes);
  }));
}
