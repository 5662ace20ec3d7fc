/**
 * The page table: a page is one file in pages/ and one line here. `nav`
 * puts it in the left navigation (in this order); a pattern's `:name`
 * parts become the page's params.
 */
import type { JSX } from 'preact';
import { ContainerPage } from './pages/container.js';
import { ContainersPage } from './pages/containers.js';
import { OverviewPage } from './pages/overview.js';
import { ImagesPage } from './pages/images.js';
import { NetworksPage } from './pages/networks.js';
import { VolumesPage } from './pages/volumes.js';
import { RegistriesPage } from './pages/registries.js';
import { ManifestPage, RegistryPage } from './pages/registry.js';
import { RepositoryPage } from './pages/registry-tags.js';

export type Page = (p: { params: Record<string, string> }) => JSX.Element;

export interface Route {
  path: string;
  page: Page;
  nav?: { label: string; icon: string };
}

export const ROUTES: Route[] = [
  { path: '/', page: OverviewPage, nav: { label: 'Overview', icon: '◔' } },
  { path: '/containers', page: ContainersPage, nav: { label: 'Containers', icon: '▣' } },
  { path: '/containers/:id', page: ContainerPage },
  { path: '/images', page: ImagesPage, nav: { label: 'Images', icon: '◫' } },
  { path: '/networks', page: NetworksPage, nav: { label: 'Networks', icon: '⋈' } },
  { path: '/volumes', page: VolumesPage, nav: { label: 'Volumes', icon: '⛁' } },
  { path: '/registries', page: RegistriesPage, nav: { label: 'Registries', icon: '⌂' } },
  { path: '/registries/:id', page: RegistryPage },
  { path: '/registries/:id/:repo', page: RepositoryPage },
  { path: '/registries/:id/:repo/:ref', page: ManifestPage },
];

export const NAV = ROUTES.filter((r) => r.nav).map((r) => ({ href: r.path, ...r.nav! }));
