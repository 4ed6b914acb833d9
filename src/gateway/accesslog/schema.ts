/** Traefik's static `accessLog` block (camelCase keys, strict). */
import { z } from 'zod';
import { durationSchema } from '../services/schema.ts';
import { otlpSection } from '../otlp-logs/schema.ts';

const mode = z.enum(['keep', 'drop', 'redact']);

export const accessLogSchema = z
  .object({
    filePath: z.string().optional(),
    format: z.enum(['common', 'json', 'genericCLF']).default('common'),
    /** Lines kept in memory before a write (Traefik's bufferingSize); 0 still batches per event-loop turn. */
    bufferingSize: z.number().int().min(0).default(0),
    addInternals: z.boolean().optional(),
    /** Traefik v3.7 (experimental.otlpLogs): each logged request becomes an OpenTelemetry log record. */
    otlp: otlpSection.optional(),
    /** With `otlp`, the file or stdout lines are written too; without it Traefik writes only the records. */
    dualOutput: z.boolean().default(false),
    filters: z
      .object({
        statusCodes: z.array(z.string()).optional(),
        retryAttempts: z.boolean().optional(),
        minDuration: durationSchema.optional(),
      })
      .strict()
      .optional(),
    fields: z
      .object({
        defaultMode: z.enum(['keep', 'drop']).default('keep'),
        names: z.record(z.string(), z.enum(['keep', 'drop'])).optional(),
        headers: z
          .object({
            defaultMode: mode.default('drop'),
            names: z.record(z.string(), mode).optional(),
          })
          .strict()
          .optional(),
        /** Traefik v3.7: `drop` logs the request path without its query string (which may carry tokens). */
        queryParameters: z.object({ defaultMode: z.enum(['keep', 'drop']).default('keep') }).strict().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type AccessLogConfig = z.infer<typeof accessLogSchema>;
