/**
 * Certificates generated at test time with the `openssl` command line (node:crypto cannot issue
 * X.509 certificates): a CA, a server certificate for 127.0.0.1/localhost signed by it, a client
 * certificate signed by it, a second CA with its own client certificate (a CA the servers do not
 * trust), and a self-signed server certificate nobody trusts. EC P-256 keys, so generation takes
 * a few milliseconds. `cleanup()` removes the directory.
 */

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate with its key, as PEM text and as files. */
export interface TestCert {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** The certificates of {@link createTestPki}. */
export interface TestPki {
  /** The directory holding every file. */
  readonly dir: string;
  /** The CA the servers and clients trust. */
  readonly ca: TestCert;
  /** Server certificate for `127.0.0.1` and `localhost` (server and client auth), signed by `ca`. */
  readonly server: TestCert;
  /** Client certificate (client auth), signed by `ca`. */
  readonly client: TestCert;
  /** Another CA: trusting it instead of `ca` is "the wrong CA". */
  readonly otherCa: TestCert;
  /** Client certificate signed by `otherCa`: refused by a server that trusts `ca`. */
  readonly otherClient: TestCert;
  /** Self-signed server certificate for `127.0.0.1`: trusted by nobody. */
  readonly untrusted: TestCert;
  /** Removes the directory. */
  cleanup(): Promise<void>;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-sha256'];

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  try {
    await run('openssl', [...args], { cwd: dir });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(
      `openssl ${args[0]} failed (the TLS tests need the openssl command): ${String(error)}\n${stderr}`,
    );
  }
}

async function load(dir: string, name: string): Promise<TestCert> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  return {
    cert: await readFile(certFile, 'utf8'),
    key: await readFile(keyFile, 'utf8'),
    certFile,
    keyFile,
  };
}

/** A self-signed certificate `name.pem` with key `name.key`, subject `subject`. */
async function selfSigned(
  dir: string,
  name: string,
  subject: string,
  extensions: readonly string[],
): Promise<void> {
  await openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-days',
    '30',
    '-subj',
    subject,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    ...extensions.flatMap((extension) => ['-addext', extension]),
  ]);
}

async function makeCa(dir: string, name: string): Promise<void> {
  await selfSigned(dir, name, `/CN=edge-ha test ${name}`, [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

async function issue(
  dir: string,
  name: string,
  ca: string,
  extensions: readonly string[],
): Promise<void> {
  await writeFile(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  await openssl(dir, [
    'req',
    '-new',
    ...EC,
    '-subj',
    `/CN=edge-ha test ${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  ]);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-sha256',
    '-days',
    '30',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
}

/** Generates the test certificates into a fresh temp directory. */
export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-ha-tls-'));
  try {
    await makeCa(dir, 'ca');
    await makeCa(dir, 'other-ca');
    await issue(dir, 'server', 'ca', [
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      'extendedKeyUsage=serverAuth,clientAuth',
    ]);
    await issue(dir, 'client', 'ca', ['extendedKeyUsage=clientAuth']);
    await issue(dir, 'other-client', 'other-ca', ['extendedKeyUsage=clientAuth']);
    await selfSigned(dir, 'untrusted', '/CN=127.0.0.1', [
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
    return {
      dir,
      ca: await load(dir, 'ca'),
      server: await load(dir, 'server'),
      client: await load(dir, 'client'),
      otherCa: await load(dir, 'other-ca'),
      otherClient: await load(dir, 'other-client'),
      untrusted: await load(dir, 'untrusted'),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
