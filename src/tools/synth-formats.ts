// The layouts and architectures `synth` writes (tools/synth-layouts.ts), apart from the writers so
// the CLI can list them without loading the I/O modules.
import { SaeMatchInputError } from '../errors.js';

export const SYNTH_FORMATS = ['gemmascope', 'gemmascope2', 'saelens', 'sparsify', 'llamascope', 'npy'] as const;
export type SynthFormat = (typeof SYNTH_FORMATS)[number];
export const SYNTH_ARCHITECTURES = ['jumprelu', 'standard', 'topk', 'gated'] as const;
export type SynthArchitecture = (typeof SYNTH_ARCHITECTURES)[number];

/** The architecture each format can hold. */
export const FORMAT_ARCHITECTURES: Record<SynthFormat, readonly SynthArchitecture[]> = {
  gemmascope: ['jumprelu'], gemmascope2: ['jumprelu'], npy: ['jumprelu'], llamascope: ['jumprelu'],
  sparsify: ['topk'], saelens: SYNTH_ARCHITECTURES,
};

export function checkFormat(format: string, architecture: string): void {
  if (!(SYNTH_FORMATS as readonly string[]).includes(format))
    throw new SaeMatchInputError(`synth: unknown format '${format}' (${SYNTH_FORMATS.join(', ')})`);
  const ok = FORMAT_ARCHITECTURES[format as SynthFormat];
  if (!(ok as readonly string[]).includes(architecture))
    throw new SaeMatchInputError(`synth: the ${format} format holds ${ok.join(', ')} SAEs, not '${architecture}'`);
}

