/**
 * One hit of the v1 search endpoint, in Docker Hub's shape: what the registry
 * server answers and the registry client reads back for `docker search`.
 */
export interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}
