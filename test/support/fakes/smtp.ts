// A local SMTP server (smtp-server) for the e-mail channel: STARTTLS with a self-signed
// certificate generated here (the client must be told to trust it), AUTH only over TLS with
// one user, and every accepted message parsed (mailparser) so tests see its text and HTML parts.
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { generate } from 'selfsigned';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** The authenticated user. */
  user: string | undefined;
  /** Whether the session was TLS when the message was sent. */
  secure: boolean;
  envelopeFrom: string;
  envelopeTo: string[];
  to: string[];
  cc: string[];
  subject: string;
  text: string;
  html: string;
  /** Content types of the MIME parts, e.g. text/plain and text/html. */
  contentTypes: string[];
}

function addresses(a: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(a) ? a : a ? [a] : [];
  return list.flatMap((x) => x.value.map((v) => v.address ?? ''));
}

export interface FakeSmtpOptions {
  /** TLS from the first byte (port 465 style) instead of STARTTLS. */
  secure?: boolean;
  /** A server without STARTTLS: the client must refuse to go on in the clear. */
  noSTARTTLS?: boolean;
}

export async function startFakeSmtp(account: { user: string; pass: string }, options: FakeSmtpOptions = {}) {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  const received: ReceivedMail[] = [];
  const authAttempts: { user: string; ok: boolean; secure: boolean }[] = [];
  /** Sessions opened, so a test can tell "refused before sending anything" from "never connected". */
  let connections = 0;
  const server = new SMTPServer({
    key: pems.private,
    cert: pems.cert,
    secure: options.secure ?? false,
    // Not just unadvertised (hideSTARTTLS): a client that tries it anyway is refused.
    disabledCommands: options.noSTARTTLS ? ['STARTTLS'] : [],
    authMethods: ['PLAIN', 'LOGIN'],
    // AUTH before STARTTLS is refused, as any sane mail server does.
    allowInsecureAuth: false,
    logger: false,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onAuth(auth, session, callback) {
      const ok = auth.username === account.user && auth.password === account.pass;
      authAttempts.push({ user: auth.username ?? '', ok, secure: session.secure });
      if (!ok) return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      callback(null, { user: auth.username });
    },
    onMailFrom(_address, session, callback) {
      if (!session.user) return callback(Object.assign(new Error('Authentication required'), { responseCode: 530 }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then((mail) => {
            received.push({
              user: session.user as string | undefined,
              secure: session.secure,
              envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              to: addresses(mail.to),
              cc: addresses(mail.cc),
              subject: mail.subject ?? '',
              text: mail.text ?? '',
              html: typeof mail.html === 'string' ? mail.html : '',
              contentTypes: [...raw.toString('latin1').matchAll(/^Content-Type:\s*([^;\s]+)/gim)].map((m) => m[1]!.toLowerCase()),
            });
            callback();
          })
          .catch((e: Error) => callback(e));
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    /** The server's certificate: the client trusts exactly this. */
    cert: pems.cert,
    received,
    authAttempts,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
