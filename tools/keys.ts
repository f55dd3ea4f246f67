// `npm run -s keys`: new keys for encrypted, signed backups, printed once for you to store: an age
// identity (the private key that opens backups) with its recipient (the public key backups are
// encrypted to), and an Ed25519 pair for signing manifests. Nothing is written to disk or sent anywhere.
import { generateIdentity, identityToRecipient } from "age-encryption";
import { newSigningKeyPair } from "../f/admin/lib/crypto/signing.ts";

const identity = await generateIdentity();
const signing = newSigningKeyPair();
console.log(`# age identity: the ONLY key that opens the backups. Keep it off the backup volume and the bucket;
# put it in the secret variable named by encryption.identities_variable only where restores run.
# created: ${new Date().toISOString()}
# public key: ${await identityToRecipient(identity)}
${identity}

# backup_settings (public values):
${
  JSON.stringify({ encryption: { recipients: [await identityToRecipient(identity)], identities_variable: "f/admin/backup_age_identity" },
    signing: { private_key_variable: "f/admin/backup_signing_key", public_keys: [signing.publicKey] } }, null, 2)
}

# secret variable f/admin/backup_signing_key (Ed25519 private key ${signing.keyId}; the workers that back up):
${signing.privateKey}`);
