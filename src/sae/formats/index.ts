// Every layout sae-match reads, in the order a folder is tried: the first whose weights file is
// there wins (each layout names its weights file differently, so at most one matches).
import type { SaeFormat, SaeLayout } from '../types.js';
import { gemmaScope } from './gemmascope.js';
import { gemmaScope2 } from './gemmascope2.js';
import { llamaScope } from './llamascope.js';
import { npyFolder } from './npy.js';
import { saeLens } from './saelens.js';
import { sparsify } from './sparsify.js';

export const LAYOUTS: readonly SaeLayout[] = [gemmaScope, gemmaScope2, saeLens, sparsify, llamaScope, npyFolder];

export function layoutOf(format: SaeFormat): SaeLayout {
  return LAYOUTS.find((l) => l.format === format)!;
}
