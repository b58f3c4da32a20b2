import { renderBody, toDeliveryPayload } from './webhook-body';

describe('webhook body', () => {
  it('carries the design fields in order, whatever order the stored payload has', () => {
    const payload = {
      ...toDeliveryPayload({
        type: 'alert.triggered',
        alert: { id: 7, project_id: 2, device_id: 3, rule_id: 4, status: 'firing', severity: 'critical', triggered_at: '2026-12-01T00:00:00.000Z', resolved_at: null, details: { a: 1 } },
      }),
      device_external_id: 'sensor-01',
    };
    const reordered = Object.fromEntries(Object.entries(payload).reverse());
    const body = renderBody(reordered);
    expect(body).toBe(renderBody(payload));
    expect(Object.keys(JSON.parse(body))).toEqual([
      'event', 'alert_id', 'project_id', 'device_id', 'device_external_id', 'rule_id', 'status', 'severity', 'triggered_at', 'resolved_at', 'details',
    ]);
    expect(JSON.parse(body)).toMatchObject({ event: 'alert.triggered', alert_id: 7, device_external_id: 'sensor-01', resolved_at: null, details: { a: 1 } });
  });
});
