import { seg, type CallOptions, type HttpTransport } from './http.ts';
import type { CreateUserInput, ListUsersQuery, Page, UpdateUserInput, User, UserExport } from './types.ts';

/**
 * `/api/clients/users/…`. Every `userId` is the user's uuid or your external_id.
 * @example const user = await client.users.create({ external_id: 'EMP001', name: 'John Doe' })
 */
export class UsersApi {
  private readonly http: HttpTransport;
  constructor(http: HttpTransport) {
    this.http = http;
  }

  create(input: CreateUserInput, call?: CallOptions): Promise<User> {
    return this.http.request('POST', '/clients/users/', { json: input, call });
  }

  list(query: ListUsersQuery = {}, call?: CallOptions): Promise<Page<User>> {
    return this.http.request('GET', '/clients/users/', { query: { ...query }, call });
  }

  get(userId: string, call?: CallOptions): Promise<User> {
    return this.http.request('GET', `/clients/users/${seg(userId)}/`, { call });
  }

  update(userId: string, input: UpdateUserInput, call?: CallOptions): Promise<User> {
    return this.http.request('PUT', `/clients/users/${seg(userId)}/`, { json: input, call });
  }

  /** Deletes the user and all their face data (right to deletion). */
  async delete(userId: string, call?: CallOptions): Promise<void> {
    await this.http.request<void>('DELETE', `/clients/users/${seg(userId)}/`, { call });
  }

  activate(userId: string, call?: CallOptions): Promise<User> {
    return this.http.request('POST', `/clients/users/${seg(userId)}/activate/`, { call });
  }

  /** A deactivated user cannot enroll or authenticate; their data is kept. */
  deactivate(userId: string, call?: CallOptions): Promise<User> {
    return this.http.request('POST', `/clients/users/${seg(userId)}/deactivate/`, { call });
  }

  /** Everything held on the user, embeddings included (portability). */
  export(userId: string, call?: CallOptions): Promise<UserExport> {
    return this.http.request('GET', `/clients/users/${seg(userId)}/export/`, { call });
  }
}
