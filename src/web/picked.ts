/**
 * What the user chose to upload, as paths relative to the current folder: files, and the folders to
 * make (empty ones included). From a picker (a folder picker gives each file's webkitRelativePath) or
 * from a drop (folders walked with webkitGetAsEntry, reading each folder until it gives nothing more).
 */

export interface Picked {
  files: { file: File; path: string }[];
  /** Folders to make, parents before children. */
  folders: string[];
}

export function fromPicker(list: FileList | null): Picked {
  const files = [...(list ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
  return { files, folders: parentsOf(files.map((f) => f.path)) };
}

export async function fromDrop(transfer: DataTransfer | null): Promise<Picked> {
  const picked: Picked = { files: [], folders: [] };
  const entries = [...(transfer?.items ?? [])].map((item) => item.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) return { files: [...(transfer?.files ?? [])].map((file) => ({ file, path: file.name })), folders: [] };
  for (const entry of entries) await walk(entry, '', picked);
  picked.folders = [...new Set([...picked.folders, ...parentsOf(picked.files.map((f) => f.path))])].sort(byDepth);
  return picked;
}

async function walk(entry: FileSystemEntry, parent: string, picked: Picked): Promise<void> {
  const path = parent === '' ? entry.name : `${parent}/${entry.name}`;
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    picked.files.push({ file, path });
    return;
  }
  picked.folders.push(path);
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return;
    for (const child of batch) await walk(child, path, picked);
  }
}

function parentsOf(paths: string[]): string[] {
  const folders = new Set<string>();
  for (const path of paths) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
  }
  return [...folders].sort(byDepth);
}

function byDepth(a: string, b: string): number {
  return a.split('/').length - b.split('/').length || a.localeCompare(b);
}
