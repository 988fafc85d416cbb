// apps/v1, coordination.k8s.io/v1 and autoscaling/v1 (Scale) definitions.

import { bool, int32, int64, list, obj, ref, str, type Schema } from './dsl.js';
import { metaNames as M } from './meta.js';

const a = 'io.k8s.api.apps.v1.';
const pod = 'io.k8s.api.core.v1.PodTemplateSpec';
const time = (d: string) => ref(M.Time, d);
const selector = (d: string) => ref(M.LabelSelector, d);

const condition = (what: string): Schema => obj(`${what}Condition describes the state of a ${what.toLowerCase()} at a certain point.`, {
  type: str(`Type of ${what.toLowerCase()} condition.`),
  status: str('Status of the condition, one of True, False, Unknown.'),
  lastUpdateTime: time('The last time this condition was updated.'),
  lastTransitionTime: time('Last time the condition transitioned from one status to another.'),
  reason: str("The reason for the condition's last transition."),
  message: str('A human readable message indicating details about the transition.'),
}, ['type', 'status']);

export const appsSchemas: Record<string, Schema> = {
  [a + 'ReplicaSetCondition']: condition('ReplicaSet'),
  [a + 'DeploymentCondition']: condition('Deployment'),
  [a + 'ReplicaSetSpec']: obj('ReplicaSetSpec is the specification of a ReplicaSet.', {
    replicas: int32('Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1.'),
    minReadySeconds: int32('Minimum number of seconds for which a newly created pod should be ready without any of its container crashing, for it to be considered available. Defaults to 0 (pod will be considered available as soon as it is ready)'),
    selector: selector("Selector is a label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this replica set. It must match the pod template's labels."),
    template: ref(pod, 'Template is the object that describes the pod that will be created if insufficient replicas are detected.'),
  }, ['selector']),
  [a + 'ReplicaSetStatus']: obj('ReplicaSetStatus represents the current status of a ReplicaSet.', {
    replicas: int32('Replicas is the most recently observed number of replicas.'),
    fullyLabeledReplicas: int32('The number of pods that have labels matching the labels of the pod template of the replicaset.'),
    readyReplicas: int32('readyReplicas is the number of pods targeted by this ReplicaSet with a Ready Condition.'),
    availableReplicas: int32('The number of available replicas (ready for at least minReadySeconds) for this replica set.'),
    observedGeneration: int64('ObservedGeneration reflects the generation of the most recently observed ReplicaSet.'),
    conditions: list(a + 'ReplicaSetCondition', "Represents the latest available observations of a replica set's current state.", 'type'),
  }, ['replicas']),
  [a + 'RollingUpdateDeployment']: obj('Spec to control the desired behavior of rolling update.', {
    maxUnavailable: ref(M.IntOrString, 'The maximum number of pods that can be unavailable during the update. Value can be an absolute number (ex: 5) or a percentage of desired pods (ex: 10%). Absolute number is calculated from percentage by rounding down. This can not be 0 if MaxSurge is 0. Defaults to 25%.'),
    maxSurge: ref(M.IntOrString, 'The maximum number of pods that can be scheduled above the desired number of pods. Value can be an absolute number (ex: 5) or a percentage of desired pods (ex: 10%). This can not be 0 if MaxUnavailable is 0. Absolute number is calculated from percentage by rounding up. Defaults to 25%.'),
  }),
  [a + 'DeploymentStrategy']: obj('DeploymentStrategy describes how to replace existing pods with new ones.', {
    type: { type: 'string', description: 'Type of deployment. Can be "Recreate" or "RollingUpdate". Default is RollingUpdate.\n\nPossible enum values:\n - `"Recreate"` Kill all existing pods before creating new ones.\n - `"RollingUpdate"` Replace the old ReplicaSets by new one using rolling update i.e gradually scale down the old ReplicaSets and scale up the new one.', enum: ['Recreate', 'RollingUpdate'] },
    rollingUpdate: ref(a + 'RollingUpdateDeployment', 'Rolling update config params. Present only if DeploymentStrategyType = RollingUpdate.'),
  }),
  [a + 'DeploymentSpec']: obj('DeploymentSpec is the specification of the desired behavior of the Deployment.', {
    replicas: int32('Number of desired pods. This is a pointer to distinguish between explicit zero and not specified. Defaults to 1.'),
    selector: selector("Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels."),
    template: ref(pod, 'Template describes the pods that will be created. The only allowed template.spec.restartPolicy value is "Always".'),
    strategy: { ...ref(a + 'DeploymentStrategy', 'The deployment strategy to use to replace existing pods with new ones.'), 'x-kubernetes-patch-strategy': 'retainKeys' },
    minReadySeconds: int32('Minimum number of seconds for which a newly created pod should be ready without any of its container crashing, for it to be considered available. Defaults to 0 (pod will be considered available as soon as it is ready)'),
    revisionHistoryLimit: int32('The number of old ReplicaSets to retain to allow rollback. This is a pointer to distinguish between explicit zero and not specified. Defaults to 10.'),
    paused: bool('Indicates that the deployment is paused.'),
    progressDeadlineSeconds: int32('The maximum time in seconds for a deployment to make progress before it is considered to be failed. The deployment controller will continue to process failed deployments and a condition with a ProgressDeadlineExceeded reason will be surfaced in the deployment status. Note that progress will not be estimated during the time a deployment is paused. Defaults to 600s.'),
  }, ['selector', 'template']),
  [a + 'DeploymentStatus']: obj('DeploymentStatus is the most recently observed status of the Deployment.', {
    observedGeneration: int64('The generation observed by the deployment controller.'),
    replicas: int32('Total number of non-terminating pods targeted by this deployment (their labels match the selector).'),
    updatedReplicas: int32('Total number of non-terminating pods targeted by this deployment that have the desired template spec.'),
    readyReplicas: int32('Total number of non-terminating pods targeted by this Deployment with a Ready Condition.'),
    availableReplicas: int32('Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.'),
    unavailableReplicas: int32('Total number of unavailable pods targeted by this deployment.'),
    conditions: list(a + 'DeploymentCondition', "Represents the latest available observations of a deployment's current state.", 'type'),
    collisionCount: int32('Count of hash collisions for the Deployment. The Deployment controller uses this field as a collision avoidance mechanism when it needs to create the name for the newest ReplicaSet.'),
  }),
  'io.k8s.api.coordination.v1.LeaseSpec': obj('LeaseSpec is a specification of a Lease.', {
    holderIdentity: str('holderIdentity contains the identity of the holder of a current lease.'),
    leaseDurationSeconds: int32('leaseDurationSeconds is a duration that candidates for a lease need to wait to force acquire it. This is measured against the time of last observed renewTime.'),
    acquireTime: ref('io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime', 'acquireTime is a time when the current lease was acquired.'),
    renewTime: ref('io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime', 'renewTime is a time when the current holder of a lease has last updated the lease.'),
    leaseTransitions: int32('leaseTransitions is the number of transitions of a lease between holders.'),
    preferredHolder: str('PreferredHolder signals to a lease holder that the lease has a more optimal holder and should be given up.'),
    strategy: str('Strategy indicates the strategy for picking the leader for coordinated leader election.'),
  }),
  'io.k8s.api.autoscaling.v1.ScaleSpec': obj('ScaleSpec describes the attributes of a scale subresource.', {
    replicas: int32('replicas is the desired number of instances for the scaled object.'),
  }),
  'io.k8s.api.autoscaling.v1.ScaleStatus': obj('ScaleStatus represents the current status of a scale subresource.', {
    replicas: int32('replicas is the actual number of observed instances of the scaled object.'),
    selector: str('selector is the label query over pods that should match the replicas count.'),
  }, ['replicas']),
};

export const appsKinds: Record<string, { description: string; properties: Record<string, Schema>; required?: string[] }> = {
  ReplicaSet: { description: 'ReplicaSet ensures that a specified number of pod replicas are running at any given time.', properties: {
    spec: ref(a + 'ReplicaSetSpec', 'Spec defines the specification of the desired behavior of the ReplicaSet.'),
    status: ref(a + 'ReplicaSetStatus', 'Status is the most recently observed status of the ReplicaSet. This data may be out of date by some window of time. Populated by the system. Read-only.'),
  } },
  Deployment: { description: 'Deployment enables declarative updates for Pods and ReplicaSets.', properties: {
    spec: ref(a + 'DeploymentSpec', 'Specification of the desired behavior of the Deployment.'),
    status: ref(a + 'DeploymentStatus', 'Most recently observed status of the Deployment.'),
  } },
  Lease: { description: 'Lease defines a lease concept.', properties: {
    spec: ref('io.k8s.api.coordination.v1.LeaseSpec', 'spec contains the specification of the Lease.'),
  } },
  Scale: { description: 'Scale represents a scaling request for a resource.', properties: {
    spec: ref('io.k8s.api.autoscaling.v1.ScaleSpec', 'spec defines the behavior of the scale.'),
    status: ref('io.k8s.api.autoscaling.v1.ScaleStatus', 'status is the current status of the scale. Read-only.'),
  } },
};
