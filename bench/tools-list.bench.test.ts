// Scenario: what the tool list costs the model on every turn: the bytes of the `tools/list`
// answer (JSON, as sent) of ours in full, with `--tools core`, and with `--output-schemas`,
// against the peer's (ssh-mcp, started the same way). Asserts only that each lists its tools.
import { expect, it } from 'vitest';
import { requireSshd } from 'test-utils';
import { startServer } from '../packages/mcp-ssh-server/test/helpers';
import { figure, writeResult, x } from './lib';
import { PEER, PEER_VERSION, startPeer } from './peer';

const kb = (value: unknown): number => Buffer.byteLength(JSON.stringify(value)) / 1024;

it('tools/list size: ours (all, core, with output schemas) vs the peer', async () => {
  const f = requireSshd();
  const ours = async (args: string[]): Promise<{ kb: number; tools: number }> => {
    const server = await startServer(f, { logLevel: 'info', args });
    try {
      const listed = await server.client.listTools();
      expect(listed.tools.length).toBeGreaterThan(0);
      return { kb: kb(listed), tools: listed.tools.length };
    } finally {
      await server.close();
    }
  };
  const all = await ours([]);
  const core = await ours(['--tools', 'core']);
  const schemas = await ours(['--output-schemas']);
  const peer = await startPeer(f, { profiles: 1 });
  let peerList: { kb: number; tools: number };
  try {
    const listed = await peer.client.listTools();
    expect(listed.tools.length).toBeGreaterThan(0);
    peerList = { kb: kb(listed), tools: listed.tools.length };
  } finally {
    await peer.close();
  }
  const ratio = all.kb / peerList.kb;
  writeResult({
    id: 'tools-list',
    title: '11. tools/list size (the context every turn costs)',
    measurements: [
      figure(`mcp-ssh-server, all ${all.tools} tools`, 'ours', 'KB', all.kb),
      figure(`mcp-ssh-server --tools core (${core.tools} tools)`, 'ours', 'KB', core.kb),
      figure(`mcp-ssh-server --output-schemas (${schemas.tools} tools)`, 'ours', 'KB', schemas.kb),
      figure(`${PEER} ${PEER_VERSION} (${peerList.tools} tools)`, 'baseline', 'KB', peerList.kb),
    ],
    targets: [
      { target: 'the full list under 20 KB (issue 22)', measured: `${all.kb.toFixed(1)} KB`, met: all.kb < 20_000 / 1024 },
      { target: 'the core group under 8 KB (issue 22)', measured: `${core.kb.toFixed(1)} KB`, met: core.kb < 8_000 / 1024 },
      { target: `per tool no more than ${PEER}'s`, measured: `${x(all.kb / all.tools / (peerList.kb / peerList.tools))} (${((all.kb * 1024) / all.tools).toFixed(0)} vs ${((peerList.kb * 1024) / peerList.tools).toFixed(0)} bytes)`, ratio, met: all.kb / all.tools <= peerList.kb / peerList.tools },
    ],
  });
}, 300_000);
