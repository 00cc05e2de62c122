import { useId, useState, type FormEvent } from 'react';

export interface NewProject {
  folder: string;
  name: string;
  corpus: string;
}

/** Form that creates a project in an empty or new folder. */
export function CreateProjectForm({ disabled, onCreate }: { disabled: boolean; onCreate: (project: NewProject) => void }) {
  const [folder, setFolder] = useState('');
  const [name, setName] = useState('');
  const [corpus, setCorpus] = useState('brown');
  const folderId = useId();
  const nameId = useId();
  const corpusId = useId();
  const corpusHelpId = useId();
  const complete = folder.trim() !== '' && name.trim() !== '' && corpus.trim() !== '';

  function submit(event: FormEvent) {
    event.preventDefault();
    if (complete) onCreate({ folder: folder.trim(), name: name.trim(), corpus: corpus.trim() });
  }

  return (
    <form className="folder-form" onSubmit={submit} aria-label="Create a project">
      <label htmlFor={nameId}>Name</label>
      <input id={nameId} type="text" value={name} onChange={(event) => setName(event.target.value)} required />
      <label htmlFor={folderId}>Folder</label>
      <input
        id={folderId}
        type="text"
        value={folder}
        onChange={(event) => setFolder(event.target.value)}
        placeholder="/home/me/projects/contracts"
        spellCheck={false}
        required
      />
      <label htmlFor={corpusId}>Corpus</label>
      <input
        id={corpusId}
        type="text"
        value={corpus}
        onChange={(event) => setCorpus(event.target.value)}
        aria-describedby={corpusHelpId}
        spellCheck={false}
        required
      />
      <p id={corpusHelpId} className="hint">
        “brown” for the Brown corpus that ships with the workbench, or the path of a folder of .txt, .md or .text files
        (subfolder names become domain labels).
      </p>
      <button type="submit" disabled={disabled || !complete}>
        Create project
      </button>
    </form>
  );
}
