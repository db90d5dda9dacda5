import type { SlotsView, SlotUse } from './campaign-slots.js';

/** `status` lines of the shared caps: `slots     all sites 5/40 · LYON 3/3 · PARIS 1 · per host 8`. */
export function formatSlotsText(view: SlotsView): string {
  const use = (slot: SlotUse) => (slot.cap === undefined ? `${slot.inFlight}` : `${slot.inFlight}/${slot.cap}`);
  const parts = [
    ...(view.global ? [`all sites ${use(view.global)}`] : []),
    ...view.sites.map((s) => `${s.site} ${use(s)}`),
    `per host ${view.perHost}`,
  ];
  const rates = [
    view.connectionsPerSecond !== undefined ? `${view.connectionsPerSecond}/s` : undefined,
    view.siteConnectionsPerSecond !== undefined ? `${view.siteConnectionsPerSecond}/s per site` : undefined,
  ].filter((rate) => rate !== undefined);
  const connections = rates.length > 0 ? `  connect   ${rates.join(' · ')} new ssh connections\n` : '';
  return `  slots     ${parts.join(' · ')} (in flight/cap, every agent)\n${connections}`;
}
