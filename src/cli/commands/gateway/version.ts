/** `meshgate gateway version` — Traefik's `traefik version` layout, with Node in Go's place. */
import { Command } from 'commander';
import { arch, platform } from 'node:os';
import type { CliIO } from '../../io.ts';
import { CLI_VERSION } from '../../version.ts';

export function versionCommand(io: CliIO): Command {
  return new Command('version').description('Shows the current gateway version').action(() => {
    io.out(`Version:      ${CLI_VERSION}\nCodename:     meshgate\nNode version: ${process.version}\nOS/Arch:      ${platform()}/${arch()}\n`);
  });
}
