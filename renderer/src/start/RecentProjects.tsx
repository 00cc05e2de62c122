import type { ProjectSummary } from '../../../common/api';

function formatOpenedAt(iso: string): string {
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? iso : time.toLocaleString();
}

/** List of recently opened projects, each a button that opens it again. */
export function RecentProjects({
  projects,
  disabled,
  onOpen,
}: {
  projects: ProjectSummary[] | null;
  disabled: boolean;
  onOpen: (project: ProjectSummary) => void;
}) {
  if (projects === null) return <p>Loading recent projects…</p>;
  if (projects.length === 0) return <p>No recent projects.</p>;
  return (
    <ul className="recent-projects" aria-label="Recent projects">
      {projects.map((project) => (
        <li key={project.id}>
          <button type="button" disabled={disabled} onClick={() => onOpen(project)}>
            <span className="recent-name">{project.name}</span>
            <span className="recent-folder">{project.folder}</span>
            <span className="recent-opened">Opened {formatOpenedAt(project.openedAt)}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}
