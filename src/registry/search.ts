/**
 * Docker's v1 search endpoint (`GET /v1/search?q=&n=&page=`), which the docker
 * daemon calls for `docker search HOST:PORT/TERM`: repositories whose name
 * holds the term, in Docker Hub's result shape.
 */
import type { SearchResult } from '../core/wire/search-result.js';

export interface SearchPage {
  num_pages: number;
  num_results: number;
  page_size: number;
  page: number;
  query: string;
  results: SearchResult[];
}

export function searchRepositories(repos: string[], query: string, n: number, page: number): SearchPage {
  const q = query.toLowerCase();
  const hits = repos.filter((r) => r.includes(q)).sort();
  const size = Math.min(Math.max(n || 25, 1), 100);
  const p = Math.max(page || 1, 1);
  const slice = hits.slice((p - 1) * size, p * size);
  return {
    num_pages: Math.max(1, Math.ceil(hits.length / size)),
    num_results: hits.length,
    page_size: size,
    page: p,
    query,
    results: slice.map((name) => ({ name, description: '', star_count: 0, is_official: false, is_automated: false })),
  };
}
