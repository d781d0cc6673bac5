/** A shared stand-in for the face_templates table, used by the registry and sync tests. */
import type { LoadedTemplate, TemplateFetcher, TemplateLister, TemplateLoader } from './index-registry.ts';
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

  /** Ids and owners only (a resync's comparison); counts the templates handed out decrypted in `fetched`. */
  list: TemplateLister = (clientId, modelId) => {
    const rows = this.rows;
    return (async function* () {
      for (const [templateId, r] of [...rows]) if (r.clientId === clientId && r.modelId === modelId) yield { templateId, userId: r.userId };
    })();
  };

  fetched = 0;
  fetchMany: TemplateFetcher = async (clientId, modelId, ids) =>
    ids.flatMap((templateId) => {
      const r = this.rows.get(templateId);
      if (!r || r.clientId !== clientId || r.modelId !== modelId) return [];
      this.fetched++;
      return [{ templateId, userId: r.userId, vec: r.vec }];
    });

  /** What IndexRegistry needs from the store. */
  registryOptions(delayMs = 0) {
    return { loader: this.loader(delayMs), list: this.list, fetch: this.fetchMany };
  }

  fetch = async (clientId: string, templateId: string): Promise<FetchedTemplate | null> => {
    const r = this.rows.get(templateId);
    return r && r.clientId === clientId ? { userId: r.userId, modelId: r.modelId, vec: r.vec } : null;
  };
}
