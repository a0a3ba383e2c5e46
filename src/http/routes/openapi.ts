// GET /v1/openapi.json: the OpenAPI 3.1 document of the routes this node mounted, built once on first request;
// GET /v1/asyncapi.json: the AsyncAPI 3.0 description of the WebSockets (docs/asyncapi.json).
import { z } from "zod";
import { openApiDocument, type DocumentInfo } from "../openapi/document.js";
import type { RouteSpec } from "../router.js";
import { asyncApiDocument } from "../../ws/asyncapi.js";

const OpenApiShape = z.looseObject({
  openapi: z.literal("3.1.0"),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
});
const AsyncApiShape = z.looseObject({
  asyncapi: z.literal("3.0.0"),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  channels: z.record(z.string(), z.looseObject({ address: z.string() })),
});

/** `routes`: the whole table, this route included (read on first request, when the table is complete). */
export function openApiRoutes(routes: () => RouteSpec[], info: DocumentInfo): RouteSpec[] {
  let body: Buffer | null = null;
  let asyncBody: Buffer | null = null;
  return [
    {
      path: "/openapi.json",
      methods: {
        GET: {
          doc: { summary: "This API as an OpenAPI 3.1 document", tag: "meta", responses: { 200: OpenApiShape }, errors: [] },
          handler: () => ({ status: 200, bytes: (body ??= Buffer.from(JSON.stringify(openApiDocument(routes(), info)))) }),
        },
      },
    },
    {
      path: "/asyncapi.json",
      methods: {
        GET: {
          doc: { summary: "The WebSocket protocols as an AsyncAPI 3.0 document", tag: "meta", responses: { 200: AsyncApiShape }, errors: [] },
          handler: () => ({ status: 200, bytes: (asyncBody ??= Buffer.from(JSON.stringify(asyncApiDocument(info.version)))) }),
        },
      },
    },
  ];
}
