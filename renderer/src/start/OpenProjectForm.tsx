import { useId, useState, type FormEvent } from 'react';

/** Form that opens the project in a folder given by its path. */
export function OpenProjectForm({ disabled, onOpen }: { disabled: boolean; onOpen: (folder: string) => void }) {
  const [folder, setFolder] = useState('');
  const folderId = useId();

  function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = folder.trim();
    if (trimmed !== '') onOpen(trimmed);
  }

  return (
    <form className="folder-form" onSubmit={submit} aria-label="Open a project">
      <label htmlFor={folderId}>Project folder</label>
      <input
        id={folderId}
        type="text"
        value={folder}
        onChange={(event) => setFolder(event.target.value)}
        placeholder="/home/me/projects/contracts"
        spellCheck={false}
        required
      />
      <button type="submit" disabled={disabled || folder.trim() === ''}>
        Open project
      </button>
    </form>
  );
}
