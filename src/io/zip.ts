// The ZIP layout constants the .npz reader (npz.ts) and writer (npz-write.ts) share (APPNOTE.TXT).
export const LOCAL_HEADER_SIG = 0x04034b50;
export const CENTRAL_HEADER_SIG = 0x02014b50;
export const END_SIG = 0x06054b50;
export const ZIP64_END_SIG = 0x06064b50;
export const ZIP64_LOCATOR_SIG = 0x07064b50;
export const LOCAL_HEADER_SIZE = 30;
export const CENTRAL_HEADER_SIZE = 46;
export const ZIP64_EXTRA_ID = 0x0001;
/** Python's zipfile (so numpy) switches to ZIP64 fields above 2^31 - 1, not 2^32 - 1: some readers treat the 32-bit fields as signed. */
export const ZIP64_LIMIT = 0x7fffffff;
/** Version 4.5: the ZIP64 extensions. Python writes it in every header once force_zip64 is on. */
export const ZIP64_VERSION = 45;
export const FLAG_ENCRYPTED = 0x0001;
export const FLAG_UTF8 = 0x0800;
export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;
