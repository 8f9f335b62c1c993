/**
 * The shapes in which operations are described for the OpenAPI document: kept apart so that the
 * modules holding the descriptions (openapi-operations.ts, governance-docs.ts) need not import each other.
 */
import type { z } from 'zod';

export interface ParameterDoc {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  description?: string;
  schema: z.ZodType;
}

/** A JSON body (a component's name), an HTML or Prometheus text page, a file's bytes (its media types), or nothing (204). */
export type ResponseDoc = { description: string } & ({ json: string } | { html: true } | { text: true } | { file: readonly string[] } | { empty: true });

export interface OperationDoc {
  summary: string;
  parameters?: ParameterDoc[];
  /** The request body: a component's name, sent as JSON unless `mediaTypes` say otherwise. */
  body?: { component: string; required: boolean; mediaTypes?: readonly string[] };
  responses: Record<number, ResponseDoc>;
  /**
   * Further statuses answered with the Error body. The builder adds those that follow from the route
   * itself: 400 (any request may carry bad JSON), 401/403/429 (its access), 404 (a path parameter),
   * 413 (a body) and 503 (a dependency down).
   */
  errors?: number[];
}
