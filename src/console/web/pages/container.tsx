/** One container: its state and actions, with tabs for inspect, logs, stats, processes and a terminal. */
import type { JSX } from 'preact';
import { PageHeader } from '../ui.js';

export function ContainerPage(p: { params: Record<string, string> }): JSX.Element {
  return <PageHeader title={p.params.id} />;
}
