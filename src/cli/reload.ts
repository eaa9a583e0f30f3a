// `overlayd reload`: reread peers.yaml in the running daemon (same as SIGHUP, but reports the result and
// exits non-zero when the file was rejected: 78 for a configuration error). systemd's ExecReload runs it,
// so the outcome reaches `systemctl reload` and the journal; the daemon logs it as well.
import type { CommandModule } from 'yargs';
import type { ReloadSummary } from '../node.js';
import { callDaemon, printJson, withControlOptions, type ControlArgs } from './control-options.js';

export const reloadCommand: CommandModule<object, ControlArgs> = {
  command: 'reload',
  describe: 'Reread peers.yaml in the running daemon; a bad file is rejected and nothing changes',
  builder: (y) => withControlOptions(y),
  handler: async (args) => {
    const r = await callDaemon<ReloadSummary>(args, 'reload');
    if (args.json) return printJson(r);
    process.stdout.write(
      `reloaded (sha256 ${r.sha256.slice(0, 12)}): added [${r.added.join(', ')}], removed [${r.removed.join(', ')}], ` +
        `changed [${r.changed.join(', ')}], new keys [${r.rekeyed.join(', ')}]\n`,
    );
  },
};
