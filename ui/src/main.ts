import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { createBackend } from './lib/backend';
import { applyTheme, rememberedTheme } from './lib/settings/theme';

applyTheme(rememberedTheme());

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

export default mount(App, { target, props: { backend: await createBackend() } });
