// Types for markdown-it's browser build, which the server serves at /web/vendor/markdown-it.js.
export { default } from 'markdown-it';
