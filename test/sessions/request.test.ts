import { describe, expect, it } from 'vitest';
import { conversationOf } from '../../src/conversation/canonical.js';
import type { ParsedRequest } from '../../src/providers/types.js';
import { sessionRequestBuilder } from '../../src/sessions/request.js';

const parsed = (extra: Partial<ParsedRequest> = {}): ParsedRequest => ({ stream: false, conversation: () => conversationOf([]), ...extra });
const headers = ['x-session-id', 'x-*-session-id'];

describe('sessionRequestBuilder', () => {
  it('partitions by the client credential, else the configured key, and adds the client address when asked', () => {
    const byCredential = sessionRequestBuilder({ explicit_id_headers: headers, partition_by: 'credential' }, 'sk-configured');
    expect(byCredential({ headers: {}, clientIp: '10.0.0.1', clientCredential: 'sk-client', parsed: parsed() }).partition).toBe('sk-client');
    expect(byCredential({ headers: {}, clientIp: '10.0.0.1', clientCredential: undefined, parsed: parsed() }).partition).toBe('sk-configured');
    const withClient = sessionRequestBuilder({ explicit_id_headers: headers, partition_by: 'credential_and_client' }, undefined);
    expect(withClient({ headers: {}, clientIp: '10.0.0.1', clientCredential: undefined, parsed: parsed() }).partition).toBe('|10.0.0.1');
    const shared = sessionRequestBuilder({ explicit_id_headers: headers, partition_by: 'none' }, 'sk-configured');
    expect(shared({ headers: {}, clientIp: '10.0.0.1', clientCredential: 'sk-client', parsed: parsed() }).partition).toBe('');
  });

  it('takes the explicit name from the configured headers, then the body, sanitised; and the previous response id', () => {
    const build = sessionRequestBuilder({ explicit_id_headers: headers, partition_by: 'credential' }, undefined);
    const fromHeader = build({
      headers: { 'x-acme-session-id': 'my session' },
      clientIp: '',
      clientCredential: 'k',
      parsed: parsed({ explicitSessionId: 'body-name' }),
    });
    expect(fromHeader.explicitId).toBe('my_session');
    const fromBody = build({
      headers: {},
      clientIp: '',
      clientCredential: 'k',
      parsed: parsed({ explicitSessionId: 'body-name', previousResponseId: 'resp_1' }),
    });
    expect(fromBody).toMatchObject({ explicitId: 'body-name', previousResponseId: 'resp_1' });
  });
});

describe('headers the gateway sends itself', () => {
  it('never takes an echoed X-Parent-Session-ID as the session name, even through x-*-session-id', () => {
    const build = sessionRequestBuilder({ explicit_id_headers: ['x-*-session-id'], partition_by: 'credential' }, 'sk');
    const parsed = { stream: false, conversation: () => conversationOf([]) };
    expect(build({ headers: { 'x-parent-session-id': 'sess_parent' }, clientIp: '::1', clientCredential: undefined, parsed }).explicitId).toBeUndefined();
    expect(
      build({ headers: { 'x-parent-session-id': 'p', 'x-app-session-id': 'mine' }, clientIp: '::1', clientCredential: undefined, parsed }).explicitId,
    ).toBe('mine');
  });
});
