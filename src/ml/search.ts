/** Hyperparameter search over the L2 strength, scored on the validation split, resumable. */

export interface SearchCandidate {
  l2: number;
  /** Loss on the validation split: log loss for classifiers, RMSE for regression. Lower wins. */
  validationLoss: number;
  iterations: number;
}

export interface SearchOptions {
  /** L2 strengths to try. */
  l2Grid: number[];
  /** Candidates already scored by an earlier attempt (from a heartbeat), skipped this time. */
  done?: SearchCandidate[];
  /** Called after each candidate, e.g. to heartbeat. */
  onCandidate?: (candidate: SearchCandidate, all: SearchCandidate[]) => void;
  /** Called during long fits, e.g. to heartbeat. */
  onIteration?: () => void;
}

export interface Fitted<M> {
  model: M;
  validationLoss: number;
  iterations: number;
}

/**
 * Fits one model per L2 strength and keeps the one with the lowest validation loss. Candidates scored
 * before are not fitted again; if one of them wins, it is refitted once (fits are deterministic).
 */
export function searchL2<M>(options: SearchOptions, fit: (l2: number) => Fitted<M>): { model: M; l2: number; search: SearchCandidate[] } {
  const search: SearchCandidate[] = [...(options.done ?? [])];
  let best: { candidate: SearchCandidate; model?: M } | undefined;
  for (const l2 of options.l2Grid) {
    const previous = search.find((c) => c.l2 === l2);
    if (previous) {
      if (!best || previous.validationLoss < best.candidate.validationLoss) best = { candidate: previous };
      continue;
    }
    const fitted = fit(l2);
    const candidate = { l2, validationLoss: fitted.validationLoss, iterations: fitted.iterations };
    search.push(candidate);
    options.onCandidate?.(candidate, search);
    if (!best || candidate.validationLoss < best.candidate.validationLoss) best = { candidate, model: fitted.model };
  }
  if (!best) throw new Error('the L2 grid is empty');
  const model = best.model ?? fit(best.candidate.l2).model;
  return { model, l2: best.candidate.l2, search };
}
