/** Users and login: the wire schemas shared by server, SDK and docs (the credentials file is credentials.ts). */
import Type from 'typebox';

export const USERNAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$';
const Username = Type.String({ pattern: USERNAME_PATTERN, description: 'Letters, digits, dot, dash, underscore; 1–64.' });
const Password = Type.String({ minLength: 1, maxLength: 1024 });

export const User = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  admin: Type.Boolean(),
  active: Type.Boolean(),
  createdTime: Type.String(),
});
export type User = Type.Static<typeof User>;

export const LoginRequest = Type.Object({ username: Username, password: Password });
export type LoginRequest = Type.Static<typeof LoginRequest>;

export const LoginAnswer = Type.Object({
  /** Send as `Authorization: Bearer <token>`. Shown once; the server keeps only a hash. */
  token: Type.String(),
  expiresTime: Type.String(),
  user: User,
});
export type LoginAnswer = Type.Static<typeof LoginAnswer>;

export const CreateUserRequest = Type.Object({
  username: Username,
  password: Password,
  admin: Type.Optional(Type.Boolean()),
});
export type CreateUserRequest = Type.Static<typeof CreateUserRequest>;

/** Admin changes to a user; a deactivated user's tokens are revoked at once. */
export const UpdateUserRequest = Type.Object(
  {
    password: Type.Optional(Password),
    admin: Type.Optional(Type.Boolean()),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateUserRequest = Type.Static<typeof UpdateUserRequest>;
