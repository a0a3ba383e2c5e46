// Path parameters and empty bodies several routes share, as the OpenAPI document shows them.
import { z } from "zod";

/** `:domain`: normalised like the field (case, IDN) before lookup (contract §3). */
export const DomainParam = { domain: z.string().min(1).max(1024).meta({ description: "A domain name; case and IDN are normalised." }) };

/** Routes that take no body fields: nothing, or `{}`. */
export const NoFields = z.strictObject({});
