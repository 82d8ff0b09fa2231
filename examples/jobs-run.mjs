// ssh-async-jobs: a command that outlives its timeout becomes a job; read it on, wait for it.
//   SSH_HOST=… SSH_USER=… node examples/jobs-run.mjs   (see connect-from-env.mjs)
import { ShellSession, SshConnection } from 'ssh-session-core';
import { JobManager } from 'ssh-async-jobs';
import { connectOptionsFromEnv } from './connect-from-env.mjs';

const connection = await SshConnection.connect(connectOptionsFromEnv());
try {
  const shell = await ShellSession.open(connection);
  const target = { key: connection.key, shell, openShell: () => ShellSession.open(connection) };
  const jobs = new JobManager();

  const quick = await jobs.run(target, 'echo "hello from $(hostname)"', { timeoutMs: 5_000 });
  console.log(`quick: ${quick.job.state}, exit ${quick.job.exitCode}: ${quick.output.trim()}`);

  const slow = await jobs.run(target, 'for i in 1 2 3; do echo "step $i"; sleep 0.3; done', { timeoutMs: 200 });
  console.log(`slow: finished=${slow.finished}, state ${slow.job.state}`);
  const done = await jobs.wait(slow.job.id, 10_000);
  const { output } = jobs.status(slow.job.id);
  console.log(`slow: ${done.state}, exit ${done.exitCode}, output ${JSON.stringify(output.text)}`);
  console.log(`history: ${jobs.history().map((job) => job.command.split(' ')[0]).join(', ')}`);
  shell.close();
} finally {
  connection.close();
}
