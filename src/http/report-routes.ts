/** GET /admin/report: the service's state as one HTML page (admin token), with the report pages' strict CSP. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { renderAdminReport } from '../report/admin-report.js';
import { CONTENT_SECURITY_POLICY_HEADER } from '../report/html.js';
import type { ReportService } from '../service/report-service.js';
import { errorResponses } from './openapi.js';

const ReportQuery = Type.Object(
  {
    // Query values arrive as text (no type coercion): digits here, the range checked by the service.
    max_opportunity: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'last opportunity drawn, 1 to 200 (default 20)' })),
    min_students: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'fewest students behind a curve point (default 10)' })),
  },
  { additionalProperties: false },
);

export function reportRoutes(report: ReportService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/admin/report',
      {
        config: { access: 'admin' },
        schema: {
          operationId: 'readAdminReport',
          tags: ['admin'],
          summary: 'HTML report: learning curves from the history, mastery per concept, active parameters, latest fit job',
          querystring: ReportQuery,
          response: {
            200: { description: 'The report page', content: { 'text/html': { schema: Type.String() } } },
            ...errorResponses(),
          },
        },
      },
      async (request, reply) => {
        const q = request.query;
        const model = await report.build({
          ...(q.max_opportunity !== undefined && { maxOpportunity: Number(q.max_opportunity) }),
          ...(q.min_students !== undefined && { minStudents: Number(q.min_students) }),
        });
        const html = await renderAdminReport(model);
        reply
          .type('text/html; charset=utf-8')
          .header('content-security-policy', CONTENT_SECURITY_POLICY_HEADER)
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .header('cache-control', 'no-store')
          .send(html);
        return reply;
      },
    );
  };
}
