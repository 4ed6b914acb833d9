/**
 * The service's neighbourhood as a picture: downstreams on the left, the service in the middle, upstreams on the
 * right, each edge coloured by the server's intention decision (allowed: solid, denied: dashed red). The same facts
 * are in the tables beside it; the SVG is labelled as one image for screen readers.
 */
import type { Decisions } from '../core/intentions.ts';

const W = 640;
const ROW = 44;
const BOX_W = 150;
const BOX_H = 30;

function decisionOf(decisions: Decisions, source: string, destination: string): 'allow' | 'deny' | 'unknown' {
  const d = decisions.get(`${source}→${destination}`);
  return d === true ? 'allow' : d === false ? 'deny' : 'unknown';
}

function Box({ x, y, label, center }: { x: number; y: number; label: string; center?: boolean }) {
  const short = label.length > 18 ? `${label.slice(0, 17)}…` : label;
  return (
    <g>
      <rect x={x} y={y} width={BOX_W} height={BOX_H} rx={6} className={center ? 'topo-node center' : 'topo-node'} />
      <text x={x + BOX_W / 2} y={y + BOX_H / 2 + 5} textAnchor="middle" className="topo-label">{short}</text>
    </g>
  );
}

export function Topology({ name, upstreams, downstreams, decisions }: { name: string; upstreams: string[]; downstreams: string[]; decisions: Decisions }) {
  const rows = Math.max(1, upstreams.length, downstreams.length);
  const h = rows * ROW + 20;
  const cy = h / 2 - BOX_H / 2;
  const colY = (i: number, n: number) => h / 2 - (n * ROW) / 2 + i * ROW + (ROW - BOX_H) / 2;
  const desc = `${name}: ${downstreams.length} downstream and ${upstreams.length} upstream services. ` +
    [...downstreams.map((d) => `${d} to ${name} ${decisionOf(decisions, d, name)}`), ...upstreams.map((u) => `${name} to ${u} ${decisionOf(decisions, name, u)}`)].join('; ');
  return (
    <svg className="topology" viewBox={`0 0 ${W} ${h}`} role="img" aria-label={desc} preserveAspectRatio="xMidYMid meet">
      {downstreams.map((d, i) => {
        const y = colY(i, downstreams.length);
        return <line key={`dl${d}`} x1={10 + BOX_W} y1={y + BOX_H / 2} x2={(W - BOX_W) / 2} y2={cy + BOX_H / 2} className={`topo-edge ${decisionOf(decisions, d, name)}`} />;
      })}
      {upstreams.map((u, i) => {
        const y = colY(i, upstreams.length);
        return <line key={`ul${u}`} x1={(W + BOX_W) / 2} y1={cy + BOX_H / 2} x2={W - 10 - BOX_W} y2={y + BOX_H / 2} className={`topo-edge ${decisionOf(decisions, name, u)}`} />;
      })}
      {downstreams.map((d, i) => <Box key={`d${d}`} x={10} y={colY(i, downstreams.length)} label={d} />)}
      <Box x={(W - BOX_W) / 2} y={cy} label={name} center />
      {upstreams.map((u, i) => <Box key={`u${u}`} x={W - 10 - BOX_W} y={colY(i, upstreams.length)} label={u} />)}
    </svg>
  );
}
