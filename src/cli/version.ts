/** The `meshgate` version, in one place for `meshgate --version` and `meshgate gateway version`. */
export const CLI_VERSION = '0.1.0';
