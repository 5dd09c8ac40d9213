import { CriticalEndpoints, normalisePath } from './critical-endpoints';

describe('CriticalEndpoints', () => {
  const defaults = new CriticalEndpoints(['default']);

  it('recognises the usual critical actions with the built-in rule', () => {
    for (const uri of [
      '/login',
      '/api/v2/sign-in',
      '/auth/signin?next=/',
      '/users/password/reset',
      '/account/forgot_password',
      '/checkout',
      '/api/payments/3',
      '/oauth/token',
      '/reports/export.csv',
      '/signup.php',
      '/register',
    ]) {
      expect([uri, defaults.matches('POST', uri)]).toEqual([uri, true]);
    }
    for (const uri of [
      '/',
      '/api/products/12',
      '/blog/logins-explained',
      '/tokens-of-appreciation',
      '/paypal-info',
    ]) {
      expect([uri, defaults.matches('GET', uri)]).toEqual([uri, false]);
    }
  });

  it('is not fooled by case, escapes, params, duplicate slashes or dot segments', () => {
    for (const uri of [
      '/API//Log%69n',
      '/login;jsessionid=1',
      '/x/../login/',
      '/./checkout',
      'https://shop.example/checkout?x=1',
    ]) {
      expect([uri, defaults.matches('POST', uri)]).toEqual([uri, true]);
    }
  });

  it('applies configured rules with methods and wildcards', () => {
    const rules = new CriticalEndpoints([
      'POST /api/*/transfer',
      '/admin/**',
      'GET /v1/accounts/*/statements',
    ]);
    expect(rules.matches('POST', '/api/v3/transfer')).toBe(true);
    expect(rules.matches('GET', '/api/v3/transfer')).toBe(false);
    expect(rules.matches('post', '/api/v3/transfer/')).toBe(true);
    expect(rules.matches('POST', '/api/v3/x/transfer')).toBe(false);
    expect(rules.matches('GET', '/admin')).toBe(true);
    expect(rules.matches('DELETE', '/admin/users/7')).toBe(true);
    expect(rules.matches('GET', '/administrator')).toBe(false);
    expect(rules.matches('GET', '/v1/accounts/42/statements?page=2')).toBe(true);
    expect(rules.matches(undefined, '/v1/accounts/42/statements')).toBe(false);
    // Without `default`, the built-in words do not apply.
    expect(rules.matches('POST', '/login')).toBe(false);
  });

  it('combines configured rules with the default list', () => {
    const rules = new CriticalEndpoints(['default', '/api/cart/**']);
    expect(rules.matches('GET', '/api/cart/items')).toBe(true);
    expect(rules.matches('POST', '/login')).toBe(true);
  });

  it('refuses an unreadable rule, naming it', () => {
    expect(() => new CriticalEndpoints(['login'])).toThrow(
      '"login" is not a critical endpoint rule',
    );
    expect(() => new CriticalEndpoints(['POST  '])).toThrow('is not a critical endpoint rule');
  });

  it('normalises paths', () => {
    expect(normalisePath('/a//b/./c/../d;p=1?q#f')).toBe('/a/b/d');
    expect(normalisePath('/%E0%A4%A')).toBe('/%e0%a4%a');
    expect(normalisePath('')).toBe('/');
  });
});
