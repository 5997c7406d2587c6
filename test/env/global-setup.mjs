import {loadHook} from './load-hook.mjs'

export default async function global_setup(...args) {
  return (await loadHook('global-setup'))(...args)
}
