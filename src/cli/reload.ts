// `overlayd reload`: reread peers.yaml in the running daemon (same as SIGHUP, but reports the result).
import type { CommandModule } from 'yargs';
import { callDaemon, printJson, withControlOptions, type ControlArgs } from './control-options.js';

export const reloadCommand: CommandModule<object, ControlArgs> = {
  command: 'reload',
  describe: 'Reread peers.yaml in the running daemon; a bad file is rejected and nothing changes',
  builder: (y) => withControlOptions(y),
  handler: async (args) => {
    const r = await callDaemon<{ added: string[]; removed: string[]; changed: string[] }>(args, 'reload');
    if (args.json) return printJson(r);
    process.stdout.write(
      `reloaded: added [${r.added.join(', ')}], removed [${r.removed.join(', ')}], changed [${r.changed.join(', ')}]\n`,
    );
  },
};
