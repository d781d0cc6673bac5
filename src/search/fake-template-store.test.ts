/** A shared stand-in for the face_templates table, used by the registry and sync tests. */
import type { LoadedTemplate, TemplateLoader } from './index-registry.ts';
import type { FetchedTemplate } from './index-sync.ts';

export class FakeTemplateStore {
  readonly rows = new Map<string, { clientId: string; userId: string; modelId: string; vec: Float32Array }>();
  loads = 0;

  put(clientId: string, modelId: string, templateId: string, userId: string, vec: Float32Array): void {
    this.rows.set(templateId, { clientId, userId, modelId, vec });
  }

  loader(delayMs = 0): TemplateLoader {
    const rows = this.rows;
    return (clientId, modelId) => {
      this.loads++;
      return (async function* (): AsyncGenerator<LoadedTemplate> {
        for (const [templateId, r] of [...rows]) {
          if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
          if (r.clientId === clientId && r.modelId === modelId) yield { templateId, userId: r.userId, vec: r.vec };
        }
      })();
    };
  }

  fetch = async (clientId: string, templateId: string): Promise<FetchedTemplate | null> => {
    const r = this.rows.get(templateId);
    return r && r.clientId === clientId ? { userId: r.userId, modelId: r.modelId, vec: r.vec } : null;
  };
}
