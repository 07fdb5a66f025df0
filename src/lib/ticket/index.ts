/** The ticket document module: schema, typed accessors, update checks, document names, ids. */
export * from './schema';
export * from './document';
export * from './name';
export * from './ids';
export * from './update-check';
export * from './limits';
export * from './awareness';
export * from './recipients';
export * from './mentions';
export * from './merge';
export * from './custom-fields';
