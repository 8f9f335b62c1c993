/**
 * Where MLflow artifacts live, by path: `<experiment>/<run id>/artifacts/...` for a run's files and
 * `<experiment>/models/<model id>/artifacts/...` for a logged model's, under the `mlflow-artifacts:/` URIs
 * the client is given. A path is a key into the path index (the bytes are content-addressed), never a
 * file name on the server; still, every segment is checked, so no path can climb (`..`), start at the
 * root, or hide a separator in an escape (`%2F`), and a path always names its one owner.
 */
import type { ArtifactOwner } from '../../store/mlflow';
import { invalid } from './protocol';

export const ARTIFACT_URI_SCHEME = 'mlflow-artifacts:';

export const runArtifactRoot = (experimentId: string, runId: string) => `${experimentId}/${runId}/artifacts`;
export const modelArtifactRoot = (experimentId: string, modelId: string) => `${experimentId}/models/${modelId}/artifacts`;
export const artifactUri = (root: string) => `${ARTIFACT_URI_SCHEME}/${root}`;
export const experimentArtifactUri = (experimentId: string) => `${ARTIFACT_URI_SCHEME}/${experimentId}`;

export const RUN_ID = /^[0-9a-f]{32}$/;
export const LOGGED_MODEL_ID = /^m-[0-9a-f]{32}$/;
const EXPERIMENT_ID = /^\d{1,18}$/;
const MAX_SEGMENT = 255;
const MAX_PATH = 1024;

/** A checked artifact path: whose it is, its owner's root, and where under that root. */
export interface ArtifactLocation {
  experimentId: string;
  owner: ArtifactOwner;
  /** `<experiment>/<run>/artifacts` or `<experiment>/models/<model>/artifacts`. */
  root: string;
  /** The path below the root ('' for the root itself). */
  relative: string;
  /** The whole path, as the index keys it. */
  path: string;
}

/** Checks each segment of a path that is already decoded. */
export function checkSegments(segments: string[], shown: string): string[] {
  if (segments.length === 0) throw invalid('an artifact path is needed');
  for (const segment of segments) {
    if (segment === '') throw invalid(`artifact path "${shown}" has an empty segment: absolute paths and doubled slashes are refused`);
    if (segment === '.' || segment === '..') throw invalid(`artifact path "${shown}" may not contain "." or ".." segments`);
    if (segment.length > MAX_SEGMENT) throw invalid(`artifact path "${shown}" has a segment longer than ${MAX_SEGMENT} characters`);
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
    if (/[\\/\u0000-\u001f\u007f]/.test(segment)) throw invalid(`artifact path "${shown}" has a separator, backslash or control character inside a segment`);
  }
  if (segments.join('/').length > MAX_PATH) throw invalid(`artifact paths are at most ${MAX_PATH} characters`);
  return segments;
}

/** The segments of a path as it arrived in a URL: split on "/" first, then each one decoded, so %2F stays inside its segment (and is refused). */
export function segmentsOfEncoded(raw: string): string[] {
  const trimmed = raw.startsWith('/') ? raw.slice(1) : raw;
  const segments = trimmed.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw invalid('the artifact path is not valid percent-encoding');
    }
  });
  return checkSegments(segments, trimmed);
}

/** The segments of a path given as text (a query parameter, a model's data file). */
export function segmentsOfText(path: string): string[] {
  return checkSegments(path.split('/'), path);
}

/** Whose files a path names, from its shape alone (the owner's existence is the caller's to check). */
export function locate(segments: string[]): ArtifactLocation {
  const [experimentId, second, third, fourth] = segments;
  const shown = segments.join('/');
  if (!EXPERIMENT_ID.test(experimentId ?? '')) throw invalid(`artifact path "${shown}" does not start with an experiment id`);
  if (RUN_ID.test(second ?? '') && third === 'artifacts') {
    return located(experimentId, { runId: second }, runArtifactRoot(experimentId, second), segments.slice(3));
  }
  if (second === 'models' && LOGGED_MODEL_ID.test(third ?? '') && fourth === 'artifacts') {
    return located(experimentId, { modelId: third }, modelArtifactRoot(experimentId, third), segments.slice(4));
  }
  throw invalid(`artifact path "${shown}" is not under a run (<experiment>/<run id>/artifacts/...) or a logged model (<experiment>/models/<model id>/artifacts/...)`);
}

function located(experimentId: string, owner: ArtifactOwner, root: string, rest: string[]): ArtifactLocation {
  const relative = rest.join('/');
  return { experimentId, owner, root, relative, path: relative ? `${root}/${relative}` : root };
}

/** The location a `mlflow-artifacts:` URI names (`mlflow-artifacts:/path` or `mlflow-artifacts://host/path`), or undefined for other URIs. */
export function locateUri(uri: string): ArtifactLocation | undefined {
  if (!uri.startsWith(ARTIFACT_URI_SCHEME)) return undefined;
  let rest = uri.slice(ARTIFACT_URI_SCHEME.length);
  if (rest.startsWith('//')) {
    // a host, which for this scheme only ever names the tracking server itself
    const slash = rest.indexOf('/', 2);
    rest = slash < 0 ? '' : rest.slice(slash);
  }
  return locate(segmentsOfText(rest.replace(/^\//, '').replace(/\/$/, '')));
}
