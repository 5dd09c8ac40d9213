import fc from 'fast-check';
import { findLogin } from './login-body';

describe('findLogin', () => {
  it('finds the username next to a password in JSON and form bodies', () => {
    expect(
      findLogin('{"username":"alice","password":"x"}', '/api/v1/whatever', 'application/json'),
    ).toEqual({
      username: 'alice',
      withSecret: true,
    });
    expect(
      findLogin('{"user":{"email":" a@b.c ","password":"x"}}', '/u', undefined)?.username,
    ).toBe('a@b.c');
    expect(findLogin('login=bob&pass=1', '/x', 'application/x-www-form-urlencoded')?.username).toBe(
      'bob',
    );
    expect(findLogin('{"Email":"E@x.y","PIN":1234}', '/x', 'application/json')?.username).toBe(
      'E@x.y',
    );
  });

  it('takes a username without a password only on an authentication route', () => {
    expect(
      findLogin('{"email":"a@b.c"}', '/api/password/reset', 'application/json')?.username,
    ).toBe('a@b.c');
    expect(findLogin('{"email":"a@b.c"}', '/api/newsletter', 'application/json')).toBeUndefined();
  });

  it('finds nothing in other bodies, and never throws', () => {
    expect(findLogin('', '/login', undefined)).toBeUndefined();
    expect(findLogin('{"password":"x"}', '/login', 'application/json')).toBeUndefined();
    expect(
      findLogin('--boundary\r\nusername=a', '/login', 'multipart/form-data; boundary=b'),
    ).toBeUndefined();
    expect(findLogin('{broken', '/login', 'application/json')).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.string(), (body, type) => {
        const found = findLogin(body, '/login', type);
        if (found) expect(found.username.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
