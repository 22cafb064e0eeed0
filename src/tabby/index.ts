// The `tabby` executable (main.ts): `tabby node`, `tabby controllers` and `tabby lab`, each
// parsing its flags and calling its library (agent, controllers, lab). An entry point: it
// exports nothing for other folders.
export {};
