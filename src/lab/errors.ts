// LabError: every failure `tabby lab` reports, with a stable code and a message that says what was
// wrong, where, and what would be right.

export type LabErrorCode =
  | 'InvalidArgument' // a flag, name or file the user gave is not acceptable
  | 'InvalidResource' // a document in an applied file is not a valid resource
  | 'NotRoot' // the lab needs root (namespaces, mounts, links)
  | 'LabExists' // `up` for a lab that is already there
  | 'LabNotFound' // a command for a lab that is not up
  | 'LabBusy' // another tabby lab command holds the lab's lock
  | 'CommandFailed' // a system command (ip, nsenter, unshare, mount) failed
  | 'Timeout' // a component did not become ready in time
  | 'CniFailed' // the CNI plugin returned an error
  | 'NoCniConfig' // the node has no usable network configuration in /etc/cni/net.d
  | 'NotFound'; // a node or pod named on the command line does not exist

export class LabError extends Error {
  override readonly name = 'LabError';
  constructor(
    readonly code: LabErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
