// ssh-sftp-files: write a file atomically with a mode, read it back, list its directory.
//   SSH_HOST=… SSH_USER=… node examples/files-roundtrip.mjs   (see connect-from-env.mjs)
import { SshConnection } from 'ssh-session-core';
import { RemoteFiles } from 'ssh-sftp-files';
import { connectOptionsFromEnv } from './connect-from-env.mjs';

const connection = await SshConnection.connect(connectOptionsFromEnv());
try {
  const files = new RemoteFiles(connection);
  const path = `~/ssh-sftp-files-example-${process.pid}/hello.txt`;
  const written = await files.writeFile(path, 'hello, remote file\n', { makeDirs: true, permissions: '0640' });
  console.log(`wrote ${written.bytesWritten} bytes to ${written.path} (atomic: ${written.atomic}, mode ${written.mode.toString(8)})`);
  const read = await files.readFile(path);
  console.log(`read back: ${JSON.stringify(read.content)} (${read.bytesRead} of ${read.size} bytes)`);
  const entries = await files.list(path.replace(/\/[^/]+$/, ''));
  console.log(`listing: ${entries.map((entry) => `${entry.name} ${entry.type} ${entry.size}`).join('; ')}`);
  const sftp = await connection.sftp();
  await new Promise((resolve) => sftp.unlink(written.path, resolve));
  await new Promise((resolve) => sftp.rmdir(written.path.replace(/\/[^/]+$/, ''), resolve));
} finally {
  connection.close();
}
