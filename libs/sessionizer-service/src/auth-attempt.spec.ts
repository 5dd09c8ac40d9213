import { authOutcome } from './auth-attempt';

describe('authOutcome (default heuristic)', () => {
  it.each([
    '/login',
    '/api/login',
    '/api/v1/auth/login',
    '/log-in',
    '/signin',
    '/sign-in',
    '/auth',
    '/authenticate',
    '/oauth/token',
    '/token',
    '/api/session',
    '/api/sessions',
    '/Login',
    '/api/login/',
  ])('POST %s is an authentication attempt', (route) => {
    expect(authOutcome('POST', route, 200)).toBe('success');
  });

  it.each([
    '/blogin',
    '/authors',
    '/api/tokens',
    '/catalog/signing',
    '/api/authorization',
    '/sessionstorage',
  ])('POST %s is not', (route) => {
    expect(authOutcome('POST', route, 200)).toBeUndefined();
  });

  it('counts only POST', () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'OPTIONS'])
      expect(authOutcome(method, '/login', 200)).toBeUndefined();
  });

  it('reads 2xx/3xx as success, 4xx as failure, anything else as unknown', () => {
    expect(authOutcome('POST', '/login', 204)).toBe('success');
    expect(authOutcome('POST', '/login', 302)).toBe('success');
    expect(authOutcome('POST', '/login', 399)).toBe('success');
    expect(authOutcome('POST', '/login', 400)).toBe('failure');
    expect(authOutcome('POST', '/login', 401)).toBe('failure');
    expect(authOutcome('POST', '/login', 403)).toBe('failure');
    expect(authOutcome('POST', '/login', 429)).toBe('failure');
    expect(authOutcome('POST', '/login', 500)).toBeUndefined();
    expect(authOutcome('POST', '/login', 199)).toBeUndefined();
    expect(authOutcome('POST', '/login', 0)).toBeUndefined();
  });
});
